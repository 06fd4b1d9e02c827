package vault_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cleandrop/vault"

	"filippo.io/age"
)

// crashContent is the plaintext of report i's item j: sizes from a few
// bytes to 2 MiB, so that some items stay small and others stream into a
// pack slot.
func crashContent(i, j int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), uint64(j)))
	n := 10 + r.IntN(2<<20)
	if r.IntN(2) == 0 {
		n = 10 + r.IntN(2000)
	}
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(r.Uint32())
	}
	return b
}

// TestCrashChild is the process that TestKillMidCommit kills: it commits
// reports from two goroutines (aborting some) and prints each reference
// once its commit has returned.
func TestCrashChild(t *testing.T) {
	dir, key := os.Getenv("CLEANDROP_CRASH_DIR"), os.Getenv("CLEANDROP_CRASH_KEY")
	if dir == "" {
		t.Skip("run by TestKillMidCommit")
	}
	id, err := age.ParseX25519Identity(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := vault.Open(dir, vault.Options{Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{id.Recipient()}}}, Tick: 20 * time.Millisecond, MaxUploads: 2})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := g; ; i += 2 {
				b, err := s.NewCase("a1", vault.Access{Lookup: []byte(strconv.Itoa(i)), ReplyRecipient: id.Recipient().String()})
				if err != nil {
					t.Error(err)
					return
				}
				for j := range 1 + i%3 {
					w, _ := b.Add(vault.KindAttachment, "")
					w.Write(crashContent(i, j))
					if err := w.Close(); err != nil {
						t.Error(err)
						return
					}
				}
				if i%5 == 4 {
					b.Abort()
					continue
				}
				ref, err := b.Commit()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Printf("ack %d %s\n", i, ref)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestKillMidCommit kills a process that is committing reports, at random
// moments, and reopens its vault: every report acknowledged before the kill
// is there and decrypts to what was sent; every case present has all its
// items, each matching its record; aborted reports are absent.
func TestKillMidCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	id, _ := age.GenerateX25519Identity()
	opts := vault.Options{Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{id.Recipient()}}}, Tick: time.Millisecond}
	acked := 0
	for trial := range 6 {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CLEANDROP_CRASH_DIR="+dir, "CLEANDROP_CRASH_KEY="+id.String())
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acks := map[string]int{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 3 && f[0] == "ack" {
					i, _ := strconv.Atoi(f[1])
					acks[f[2]] = i
				}
			}
		}()
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()

		s, err := vault.Open(dir, opts)
		if err != nil {
			t.Fatalf("trial %d: reopen after kill: %v", trial, err)
		}
		cases, err := s.Cases()
		if err != nil {
			t.Fatal(err)
		}
		for ref, i := range acks {
			c, err := s.Case(ref)
			if err != nil {
				t.Errorf("trial %d: acknowledged case %s lost: %v", trial, ref, err)
				continue
			}
			if len(c.Items) != 1+i%3 {
				t.Errorf("trial %d: case %s has %d items, want %d", trial, ref, len(c.Items), 1+i%3)
				continue
			}
			for j, it := range c.Items {
				rc, err := s.OpenItem(ref, it.ID)
				if err != nil {
					t.Fatal(err)
				}
				r, err := age.Decrypt(rc, id)
				if err != nil {
					t.Errorf("trial %d: %s item %d: %v", trial, ref, it.ID, err)
					rc.Close()
					continue
				}
				got, err := io.ReadAll(r)
				rc.Close()
				if err != nil || !bytes.Equal(got, crashContent(i, j)) {
					t.Errorf("trial %d: %s item %d does not read back: %v", trial, ref, it.ID, err)
				}
			}
		}
		for _, c := range cases {
			if i, err := strconv.Atoi(string(c.Access.Lookup)); err == nil && i%5 == 4 {
				t.Errorf("trial %d: aborted report %d is a case", trial, i)
			}
			for _, it := range c.Items {
				rc, err := s.OpenItem(c.Ref, it.ID)
				if err != nil {
					t.Fatal(err)
				}
				h := sha256.New()
				n, _ := io.Copy(h, rc)
				rc.Close()
				if n != it.Size || hex.EncodeToString(h.Sum(nil)) != it.SHA256 {
					t.Errorf("trial %d: %s item %d: %d bytes, checksum does not match its record", trial, c.Ref, it.ID, n)
				}
			}
		}
		s.Close()
		t.Logf("trial %d: %d reports acknowledged, %d cases after the kill", trial, len(acks), len(cases))
		acked += len(acks)
		if len(acks) == 0 {
			t.Logf("child stderr:\n%s", stderr.String())
		}
	}
	if acked == 0 {
		t.Fatal("no report was acknowledged before a kill: the test saw nothing")
	}
}
