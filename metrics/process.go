package metrics

import (
	"bytes"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"syscall"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's
// times: 100 on every Linux architecture the agent is built for.
const clockTicks = 100

// RegisterProcess registers the process and Go runtime families that
// Prometheus client libraries export under the same names, so existing
// dashboards and alerts apply: process_cpu_seconds_total,
// process_resident_memory_bytes, process_start_time_seconds,
// process_open_fds, process_max_fds, go_goroutines,
// go_memstats_heap_alloc_bytes, go_memstats_sys_bytes, go_gc_cycles_total
// and go_info. Process families read /proc/self; where it cannot be read
// they report nothing.
func RegisterProcess(r *Registry) {
	r.CounterFunc("process_cpu_seconds_total", "User and system CPU time spent by the process, in seconds.", nil, func(emit Emit) {
		if st, ok := readStat(); ok {
			emit(float64(st.utime+st.stime) / clockTicks)
		}
	})
	r.GaugeFunc("process_resident_memory_bytes", "Resident memory of the process, in bytes.", nil, func(emit Emit) {
		if st, ok := readStat(); ok {
			emit(float64(st.rss * int64(os.Getpagesize())))
		}
	})
	r.GaugeFunc("process_start_time_seconds", "When the process started, in seconds since the Unix epoch.", nil, func(emit Emit) {
		st, ok := readStat()
		boot, bok := bootTime()
		if ok && bok {
			emit(float64(boot) + float64(st.start)/clockTicks)
		}
	})
	r.GaugeFunc("process_open_fds", "Open file descriptors of the process.", nil, func(emit Emit) {
		if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
			emit(float64(len(ents)))
		}
	})
	r.GaugeFunc("process_max_fds", "The process's limit of open file descriptors.", nil, func(emit Emit) {
		var rl syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
			emit(float64(rl.Cur))
		}
	})
	goRuntime(r)
}

// goRuntime registers the Go runtime families, read from runtime/metrics.
func goRuntime(r *Registry) {
	read := func(name string) (uint64, bool) {
		s := []rtmetrics.Sample{{Name: name}}
		rtmetrics.Read(s)
		if s[0].Value.Kind() != rtmetrics.KindUint64 {
			return 0, false
		}
		return s[0].Value.Uint64(), true
	}
	gauge := func(name, help, sample string) {
		r.GaugeFunc(name, help, nil, func(emit Emit) {
			if v, ok := read(sample); ok {
				emit(float64(v))
			}
		})
	}
	r.GaugeFunc("go_goroutines", "Goroutines that currently exist.", nil, func(emit Emit) { emit(float64(runtime.NumGoroutine())) })
	gauge("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", "/memory/classes/heap/objects:bytes")
	gauge("go_memstats_sys_bytes", "Bytes of memory obtained from the operating system by the Go runtime.", "/memory/classes/total:bytes")
	r.CounterFunc("go_gc_cycles_total", "Completed garbage collection cycles.", nil, func(emit Emit) {
		if v, ok := read("/gc/cycles/total:gc-cycles"); ok {
			emit(float64(v))
		}
	})
	r.GaugeFunc("go_info", "The Go version the program was built with (always 1).", []string{"version"}, func(emit Emit) { emit(1, runtime.Version()) })
}

// stat is what the process families use of /proc/self/stat.
type stat struct {
	utime, stime, start, rss int64
}

// readStat reads /proc/self/stat: fields 14 and 15 (utime, stime), 22
// (starttime) and 24 (rss, in pages), counted after the command name,
// which is in parentheses and may hold spaces.
func readStat() (stat, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return stat{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 22 {
		return stat{}, false
	}
	num := func(field int) int64 {
		v, _ := strconv.ParseInt(f[field-3], 10, 64)
		return v
	}
	return stat{utime: num(14), stime: num(15), start: num(22), rss: num(24)}, true
}

// bootTime reads btime, the boot time in seconds since the epoch, from
// /proc/stat.
func bootTime() (int64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
