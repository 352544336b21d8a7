// Reference: lightship (gajus/lightship), readiness endpoint `/ready` after signalReady().
// Lightship has no dependency checks of its own: /ready reads an in-process flag, so this is
// the cost of its HTTP service (fastify) alone. PORT comes from the environment. Lightship
// always binds 0.0.0.0; the benchmark only ever sends to 127.0.0.1.
// Lightship is an ES module and ES modules ignore NODE_PATH: bench/run copies this file into the
// npm cache directory and runs it from there.
import { createLightship } from 'lightship';

const lightship = await createLightship({
    detectKubernetes: false,
    port: Number(process.env.PORT),
    shutdownDelay: 0,
    terminate: () => process.exit(0),
});
lightship.signalReady();
