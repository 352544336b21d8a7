# gnuplot -e "datadir='DIR'; out='FILE.png'" bench/lib/fleet.gp  (data files from fleet-report.cjs)
set terminal pngcairo size 1400,1000 font "DejaVu Sans,10"
set output out
set multiplot layout 2,2 title "readyprobe fleet: N sidecars, one PostgreSQL check each (bench/fleet)"
set style data linespoints
set grid
set key top left
set xlabel "sidecars (N)"
files = "direct-2s bouncer-2s direct-10s"
names = "'direct, 2 s' 'PgBouncer, 2 s' 'direct, 10 s'"
title_of(i) = i == 1 ? "direct, INTERVAL=2s" : (i == 2 ? "PgBouncer (transaction), INTERVAL=2s" : "direct, INTERVAL=10s")

set title "PostgreSQL server connections (pg\\_stat\\_activity)"
set ylabel "connections"
plot for [i=1:3] datadir.'/'.word(files, i).'.dat' using 1:2 title title_of(i)

set title "PostgreSQL statements/s (pg\\_stat\\_statements; 2 per check run)"
set ylabel "statements/s"
plot for [i=1:3] datadir.'/'.word(files, i).'.dat' using 1:3 title title_of(i)

set title "sidecar CPU, sum over the fleet (/proc/PID/stat)"
set ylabel "% of one core"
plot for [i=1:3] datadir.'/'.word(files, i).'.dat' using 1:4 title title_of(i)

set title "sidecar RSS, sum over the fleet (shared library pages counted in each)"
set ylabel "MiB"
plot for [i=1:3] datadir.'/'.word(files, i).'.dat' using 1:5 title title_of(i)
unset multiplot
