package main

import (
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkUploadVsAgeCLI sends one file as a report attachment through the
// running server (HTTP, multipart streaming, age sealing, fsync'd blob,
// Badger commit) and, in the same run, seals the same file with the stock
// age command to a file followed by sync (the durable baseline). It reports
// both rates and their ratio. CLEANDROP_BENCH_MIB sets the size (default 256).
func BenchmarkUploadVsAgeCLI(b *testing.B) {
	ageBin, err := exec.LookPath("age")
	if err != nil {
		b.Skip("the stock age command is not installed (make deps)")
	}
	mib := int64(256)
	if v := os.Getenv("CLEANDROP_BENCH_MIB"); v != "" {
		mib, _ = strconv.ParseInt(v, 10, 64)
	}
	size := mib << 20
	dir := b.TempDir()
	src := filepath.Join(dir, "input.bin")
	f, _ := os.Create(src)
	io.Copy(f, io.LimitReader(fastRandom{rand.NewChaCha8([32]byte{7})}, size))
	f.Close()

	s := startDemo(b)
	pub := recipientOf(b, s.key("acc"))
	r := newReporter(b, s.url)

	var cli, srv time.Duration
	for i := 0; b.Loop(); i++ {
		out := filepath.Join(dir, "out.age")
		os.Remove(out)
		start := time.Now()
		if err := exec.Command("sh", "-c", ageBin+" -r "+pub+" -o "+out+" "+src+" && sync "+out).Run(); err != nil {
			b.Fatal(err)
		}
		cli += time.Since(start)

		in, _ := os.Open(src)
		start = time.Now()
		r.report("acc", "benchmark", []upload{{"input.bin", in}})
		srv += time.Since(start)
		in.Close()
	}
	n := float64(b.N)
	cliRate := float64(size) / (cli.Seconds() / n) / 1e6
	srvRate := float64(size) / (srv.Seconds() / n) / 1e6
	b.ReportMetric(cliRate, "age-cli-MB/s")
	b.ReportMetric(srvRate, "cleandrop-MB/s")
	b.ReportMetric(srvRate/cliRate, "ratio")
}

func recipientOf(b *testing.B, keyFile string) string {
	data, err := os.ReadFile(keyFile)
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(l, "# public key: "); ok {
			return p
		}
	}
	b.Fatal("no public key in " + keyFile)
	return ""
}
