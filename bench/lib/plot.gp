# gnuplot -e "datadir='DIR'; out='FILE.png'" bench/lib/plot.gp  (data files from report.cjs)
set terminal pngcairo size 1400,1000 font "DejaVu Sans,10"
set output out
set multiplot layout 2,2 title "readyprobe benchmarks (bench/run)"

set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right

# (a) throughput
set title "/health requests/s (wrk -t2)"
set ylabel "requests/s"
set yrange [0:*]
plot datadir.'/http.dat' using 2:xtic(1) title "-c64", '' using 3 title "-c8"

# (b) p99 latency, log scale
set title "/health p99 latency (wrk --latency)"
set ylabel "ms (log scale)"
set logscale y
set yrange [*:*]
plot datadir.'/http.dat' using 4:xtic(1) title "-c64", '' using 5 title "-c8"
unset logscale y

# (c) database statements against request rate
set style data linespoints
set title "PostgreSQL statements/s against /health requests/s\n(idle, -c8, -c64 windows; pg\\_stat\\_statements)"
set xlabel "/health requests/s"
set ylabel "statements/s (log scale)"
set logscale y
set yrange [0.1:1e6]
set xrange [0:*]
set key top left
plot datadir.'/db-terminus.dat' using 1:2 with linespoints lw 2 pt 7 title "terminus (SELECT 1 per request)", \
     datadir.'/db-readyprobe.dat' using 1:2 with linespoints lw 2 pt 5 title "readyprobe sidecar (1 pg check, 1 s)", \
     datadir.'/db-embedded.dat' using 1:2 with linespoints lw 2 pt 9 title "orders-service embedded (schema check, 1 s)"
unset logscale y
unset xlabel
set xrange [*:*]

# (d) detection latency against the bound
set title "time from fault to first 503 (timeout 1 s, fall 2)"
set ylabel "ms"
set yrange [0:*]
set style data histogram
set key top left horizontal
set offsets 0, 0, graph 0.15, 0
plot datadir.'/detect.dat' using 2:xtic(1) title "median", '' using 3 title "max", \
     '' using 4 title "bound: fall×(1.1×interval+timeout)+100 ms"

unset multiplot
