# Plots of one benchmark directory:
#   gnuplot -e "dir='results/bench-...'; scale_n=4; members_n=2" bench/bench.gp
# Reads plot-main.dat, plot-scale.dat, plot-members.dat (bench/report.py;
# scale_n/members_n = their data lines, 0 when that phase did not run);
# writes bench.png: req/s and p99 per scenario, scaling with connections,
# 3 vs 30 members.
if (!exists("dir")) dir = "."
if (!exists("scale_n")) scale_n = 0
if (!exists("members_n")) members_n = 0
set terminal pngcairo size 1400,1000 font ",10" noenhanced
set output dir."/bench.png"
name = system("basename '".dir."'")
set multiplot layout 2,2 title "mod_kylin_balancer benchmark ".name." (medians; scenarios as in summary.md)"

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key below horizontal
set yrange [0:*]

set title "Throughput per scenario (median of rounds)"
set ylabel "requests/s"
plot dir."/plot-main.dat" using 2:xtic(1) title "GET projects", \
     "" using 3 title "POST query"

set title "p99 latency per scenario (median of rounds)"
set ylabel "p99 ms"
plot dir."/plot-main.dat" using 4:xtic(1) title "GET projects", \
     "" using 5 title "POST query"

set title "Scaling with client connections (GET)"
set style data linespoints
set logscale x 2
set xlabel "wrk connections"
set ylabel "requests/s"
if (scale_n > 0) {
    plot dir."/plot-scale.dat" using 1:2 title "A byrequests" lw 2, \
         "" using 1:3 title "B kylin" lw 2, \
         "" using 1:4 title "C kylin+sessions" lw 2
} else {
    unset logscale x
    set label 1 "scaling phase not run" at graph 0.5,0.5 center
    plot [0:1][0:1] NaN notitle
    unset label 1
}
unset logscale x
unset xlabel

set title "3 vs 30 members (GET)"
set style data histograms
set ylabel "requests/s"
if (members_n > 0) {
    plot dir."/plot-members.dat" using 2:xtic(1) title "A byrequests", \
         "" using 3 title "B kylin"
} else {
    set label 1 "members phase not run" at graph 0.5,0.5 center
    plot [0:1][0:1] NaN notitle
}
unset multiplot
