package vault_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"cleandrop/vault"
	"cleandrop/vault/backend"
	"cleandrop/vault/backend/pgstore"
	"cleandrop/vault/backend/s3blobs"
	"cleandrop/vault/backend/servers"
	"cleandrop/vault/storetest"
)

// distributed is one PostgreSQL and one SeaweedFS for the tests of a
// shared store, and the database and bucket each vault directory uses.
type distributed struct {
	pg     *servers.Postgres
	weed   *servers.SeaweedFS
	client *minio.Client

	mu   sync.Mutex
	made map[string][2]string // dir -> database URL, bucket
}

func startDistributed(t *testing.T) *distributed {
	t.Helper()
	d := &distributed{pg: servers.StartPostgres(t), weed: servers.StartSeaweedFS(t), made: map[string][2]string{}}
	d.client = d.weed.Client(t)
	return d
}

// stores returns the shared stores of the vault kept in dir: a new
// database and bucket the first time, the same ones after.
func (d *distributed) stores(t *testing.T, dir string) (vault.Shared, string, string) {
	t.Helper()
	d.mu.Lock()
	st, ok := d.made[dir]
	if !ok {
		st = [2]string{d.pg.NewDatabase(t), d.weed.NewBucket(t)}
		d.made[dir] = st
	}
	d.mu.Unlock()
	return d.open(t, st[0], st[1]), st[0], st[1]
}

func (d *distributed) open(t *testing.T, url, bucket string) vault.Shared {
	t.Helper()
	meta, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	blobs, err := s3blobs.New(d.client, bucket, meta, s3blobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return vault.Shared{Meta: meta, Blobs: blobs}
}

func (d *distributed) opener(t *testing.T, dir string, opts vault.Options) *vault.Store {
	t.Helper()
	if opts.Tick == 0 {
		opts.Tick = time.Millisecond
	}
	sh, _, _ := d.stores(t, dir)
	s, err := vault.OpenShared(dir, sh, opts)
	if err != nil {
		t.Fatalf("OpenShared: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStorePostgresS3 runs the whole store suite on the distributed
// backend: records in PostgreSQL, large items in SeaweedFS over S3.
func TestStorePostgresS3(t *testing.T) {
	d := startDistributed(t)
	storetest.RunStored(t, d.opener, d.storedBytes)
}

// storedBytes is the size of every object and the number of unfinished
// uploads (their parts are not listed with sizes) of dir's bucket.
func (d *distributed) storedBytes(t *testing.T, dir string) int64 {
	t.Helper()
	d.mu.Lock()
	bucket := d.made[dir][1]
	d.mu.Unlock()
	var n int64
	for o := range d.client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n += o.Size
	}
	for u := range d.client.ListIncompleteUploads(context.Background(), bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		n += max(u.Size, 1)
	}
	return n
}

// twoFrontEnds opens two stores over the same database and bucket, with
// the same vault key, as two front-ends of one deployment would.
func twoFrontEnds(t *testing.T, d *distributed, opts vault.Options) (a, b *vault.Store, dirA, dirB string) {
	t.Helper()
	dirA, dirB = t.TempDir(), t.TempDir()
	a = d.opener(t, dirA, opts)
	key, err := os.ReadFile(filepath.Join(dirA, "vault.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "vault.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.made[dirB] = d.made[dirA]
	d.mu.Unlock()
	b = d.opener(t, dirB, opts)
	return a, b, dirA, dirB
}

// TestSharedPostgresS3TwoFrontEnds: what one front-end commits, the other
// reads, large items included; records changed from both at once land
// exactly once each; a front-end with another vault key is refused.
func TestSharedPostgresS3TwoFrontEnds(t *testing.T) {
	d := startDistributed(t)
	agency := must(age.GenerateX25519Identity())
	opts := vault.Options{Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{agency.Recipient()}}}}
	a, b, _, _ := twoFrontEnds(t, d, opts)

	acc, _ := storetest.NewAccess(t)
	batch, err := a.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("sealed on front-end A "), 200_000) // 4.4 MB: an object
	storetest.Put(t, batch, vault.KindReport, "", []byte("report text"))
	storetest.Put(t, batch, vault.KindAttachment, "big.bin", big)
	ref := storetest.Commit(t, batch)

	found, _, err := b.AccessByLookup(acc.Lookup)
	if err != nil || found != ref {
		t.Fatalf("front-end B: lookup %q, %v; want %s", found, err, ref)
	}
	c, err := b.Case(ref)
	if err != nil || c.Ref != ref || len(c.Items) != 2 {
		t.Fatalf("front-end B: case %+v, %v; want %s with 2 items", c, err, ref)
	}
	got, err := storetest.Decrypt(t, b, ref, 2, agency)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("front-end B: attachment of %d bytes, %v; want the %d sent", len(got), err, len(big))
	}

	// Answers from both front-ends to the same case, at once.
	var wg sync.WaitGroup
	for _, s := range []*vault.Store{a, b} {
		for range 5 {
			wg.Go(func() {
				bt, err := s.Append(ref)
				if err != nil {
					t.Error(err)
					return
				}
				storetest.Put(t, bt, vault.KindAnswer, "", []byte("answer"))
				if _, err := bt.Commit(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	// And a counter record, incremented 20 times on each.
	for _, s := range []*vault.Store{a, b} {
		wg.Go(func() {
			for range 20 {
				err := s.UpdateRecord("counter", "officer-one", func(old []byte) ([]byte, error) {
					n, _ := strconv.Atoi(string(old))
					return []byte(strconv.Itoa(n + 1)), nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if c, err = a.Case(ref); err != nil || len(c.Items) != 12 {
		t.Fatalf("case after 10 answers from two front-ends: %d items, %v; want 12", len(c.Items), err)
	}
	for i, it := range c.Items {
		if it.ID != i+1 {
			t.Fatalf("item %d has ID %d", i, it.ID)
		}
	}
	v, err := b.Record("counter", "officer-one")
	if err != nil || string(v) != "40" {
		t.Fatalf("counter = %q, %v; want 40", v, err)
	}
	recs, err := a.Records("counter")
	if err != nil || len(recs) != 1 || recs[0].ID != "officer-one" {
		t.Fatalf("Records = %+v, %v", recs, err)
	}
	refusal := errors.New("refused")
	if err := a.UpdateRecord("counter", "officer-one", func([]byte) ([]byte, error) { return nil, refusal }); err != refusal {
		t.Fatalf("UpdateRecord returned %v, want fn's error", err)
	}

	// A third front-end whose vault.key was not copied.
	d.mu.Lock()
	dirC := t.TempDir()
	d.made[dirC] = d.made[func() string {
		for k := range d.made {
			return k
		}
		return ""
	}()]
	st := d.made[dirC]
	d.mu.Unlock()
	_, err = vault.OpenShared(dirC, d.open(t, st[0], st[1]), opts)
	if !errors.Is(err, vault.ErrOtherKey) {
		t.Fatalf("OpenShared with another key: %v, want ErrOtherKey", err)
	}
}

// TestSharedPostgresS3HoldsNoPlaintext searches a dump of the database and
// every object of the bucket for what a case's metadata says: none of it
// may be there.
func TestSharedPostgresS3HoldsNoPlaintext(t *testing.T) {
	d := startDistributed(t)
	agency := must(age.GenerateX25519Identity())
	opts := vault.Options{
		Agencies: []vault.Agency{{ID: "canaryagencyxq", Name: "Canary Agency", Recipients: []age.Recipient{agency.Recipient()}}},
		Now:      func() time.Time { return storetest.Now },
	}
	dir := t.TempDir()
	s := d.opener(t, dir, opts)
	_, url, bucket := d.stores(t, dir)
	acc, _ := storetest.NewAccess(t)
	batch, err := s.NewCase("canaryagencyxq", acc)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, batch, vault.KindReport, "", []byte("canarytextzv the minister took the bribe"))
	storetest.Put(t, batch, vault.KindAttachment, "canaryfilenamezq.pdf", bytes.Repeat([]byte("canarytextzv "), 20_000))
	ref := storetest.Commit(t, batch)
	bt, err := s.Append(ref)
	if err != nil {
		t.Fatal(err)
	}
	bt.SetStage("canarystagezw")
	if _, err := bt.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRecord("officer", "canaryofficerzy", []byte(`{"name":"canaryofficerzy"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	canaries := []string{"canaryagencyxq", "Canary Agency", "canarytextzv", "canaryfilenamezq", "canarystagezw",
		"canaryofficerzy", ref, storetest.Day, vault.InitialStage, fmt.Sprintf("%x", acc.Lookup), acc.ReplyRecipient}
	dump := d.pg.Dump(t, url)
	if !bytes.Contains(dump, []byte("COPY")) {
		t.Fatalf("the dump holds no data:\n%s", dump)
	}
	var objects [][]byte
	for o := range d.client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		obj, err := d.client.GetObject(context.Background(), bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatal(err)
		}
		objects = append(objects, append([]byte(o.Key+"\n"), b...))
	}
	if len(objects) != 1 {
		t.Fatalf("bucket holds %d objects, want the attachment's 1", len(objects))
	}
	for _, c := range canaries {
		if bytes.Contains(dump, []byte(c)) {
			t.Errorf("the PostgreSQL dump holds %q", c)
		}
		for _, o := range objects {
			if bytes.Contains(o, []byte(c)) {
				t.Errorf("an object holds %q", c)
			}
		}
	}
	t.Logf("searched a %d-byte dump and %d object(s) for %d canaries", len(dump), len(objects), len(canaries))
}

// TestSharedPostgresS3ReapsUnreferenced: a blob committed by a batch whose
// transaction never happened (a front-end that crashed between the two)
// is deleted after two looks; the blobs of committed items stay.
func TestSharedPostgresS3ReapsUnreferenced(t *testing.T) {
	defer vault.SetReap(time.Second, time.Hour)()
	d := startDistributed(t)
	agency := must(age.GenerateX25519Identity())
	opts := vault.Options{Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{agency.Recipient()}}}, Tick: 10 * time.Millisecond}
	dir := t.TempDir()
	sh, _, _ := d.stores(t, dir)
	// The crashed front-end's blob, committed and never referenced.
	up, err := sh.Blobs.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	up.Write(bytes.Repeat([]byte{1}, 100_000))
	if _, err := up.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	orphan := up.Name()
	s, err := vault.OpenShared(dir, sh, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acc, _ := storetest.NewAccess(t)
	batch, _ := s.NewCase("a1", acc)
	storetest.Put(t, batch, vault.KindAttachment, "kept.bin", bytes.Repeat([]byte{2}, 200_000))
	ref := storetest.Commit(t, batch)

	deadline := time.Now().Add(time.Minute)
	for s.Looks() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d looks in a minute", s.Looks())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := sh.Blobs.Open(context.Background(), orphan); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("the unreferenced blob after %d looks: %v, want it deleted", s.Looks(), err)
	}
	if got, err := storetest.Decrypt(t, s, ref, 1, agency); err != nil || len(got) != 200_000 {
		t.Fatalf("the committed attachment after the looks: %d bytes, %v", len(got), err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSharedPostgresS3SettlesDay: once the day is over, the cases of that
// day carry the moment of their settling, not of their reports: every one
// of their rows was written again (its xmin is a settling transaction's,
// none of the reports'), and every object is a copy made after the day
// (its Last-Modified is then, and the objects the reports uploaded are
// gone). The cases still read back whole.
func TestSharedPostgresS3SettlesDay(t *testing.T) {
	d := startDistributed(t)
	agency := must(age.GenerateX25519Identity())
	var now atomic.Pointer[time.Time]
	day1 := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)
	now.Store(&day1)
	opts := vault.Options{
		Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{agency.Recipient()}}},
		Now:      func() time.Time { return *now.Load() },
		Tick:     20 * time.Millisecond,
	}
	dir := t.TempDir()
	s := d.opener(t, dir, opts)
	_, url, bucket := d.stores(t, dir)
	type sent struct {
		ref  string
		file []byte
	}
	var cases []sent
	for i := range 4 {
		acc, _ := storetest.NewAccess(t)
		b, err := s.NewCase("a1", acc)
		if err != nil {
			t.Fatal(err)
		}
		file := bytes.Repeat([]byte{byte(i + 1)}, 100_000+i)
		storetest.Put(t, b, vault.KindReport, "", []byte("report"))
		storetest.Put(t, b, vault.KindAttachment, "f.bin", file)
		cases = append(cases, sent{storetest.Commit(t, b), file})
	}
	xmins := func() map[string]string {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(context.Background(), "SELECT encode(key, 'escape'), xmin::text FROM cleandrop_kv WHERE key NOT LIKE 'z/%' AND key NOT LIKE 'blobs/%'")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for rows.Next() {
			var k, x string
			if err := rows.Scan(&k, &x); err != nil {
				t.Fatal(err)
			}
			out[k] = x
		}
		return out
	}
	objects := func() map[string]time.Time {
		out := map[string]time.Time{}
		for o := range d.client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			out[o.Key] = o.LastModified
		}
		return out
	}
	before, objBefore := xmins(), objects()
	if len(objBefore) != 4 {
		t.Fatalf("%d objects, want 4", len(objBefore))
	}
	rounds0, _ := s.Settled()

	day2 := time.Date(2026, 3, 4, 0, 0, 1, 0, time.UTC)
	now.Store(&day2)
	settleStart := time.Now().Truncate(time.Second)
	deadline := time.Now().Add(time.Minute)
	for {
		if r, n := s.Settled(); r > rounds0 && n == 4 {
			break
		}
		if time.Now().After(deadline) {
			r, n := s.Settled()
			t.Fatalf("after a minute of day 2: %d settlings, %d cases settled", r, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	after, objAfter := xmins(), objects()
	reportXmins := map[string]bool{}
	for _, x := range before {
		reportXmins[x] = true
	}
	for k, x := range after {
		if reportXmins[x] {
			t.Errorf("row %s still carries the xmin %s of a report's transaction", k, x)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d rows after settling, %d before", len(after), len(before))
	}
	for k, lm := range objAfter {
		if _, old := objBefore[k]; old {
			t.Errorf("object %s of a report survived the settling", k)
		}
		if lm.Before(settleStart) {
			t.Errorf("object %s: Last-Modified %v is before the settling began (%v)", k, lm, settleStart)
		}
	}
	if len(objAfter) != 4 {
		t.Errorf("%d objects after settling, want 4", len(objAfter))
	}
	for _, c := range cases {
		got, err := storetest.Decrypt(t, s, c.ref, 2, agency)
		if err != nil || !bytes.Equal(got, c.file) {
			t.Fatalf("case %s after settling: %d bytes, %v", c.ref, len(got), err)
		}
	}
	t.Logf("settled 4 cases: %d rows rewritten, 4 objects copied", len(after))
}

// BenchmarkSmallReportsPostgresVsBadger commits small reports (a 2 KiB
// text each) from 32 writers on the embedded store and on the shared one
// (PostgreSQL and SeaweedFS on this machine), alternating rounds of 400,
// and reports each one's reports per second (the median round) and their
// ratio. Both commit on the same write schedule (a 1 s tick, 64 steps).
func BenchmarkSmallReportsPostgresVsBadger(b *testing.B) {
	d := &distributed{pg: servers.StartPostgres(b), weed: servers.StartSeaweedFS(b), made: map[string][2]string{}}
	d.client = d.weed.Client(b)
	id, _ := age.GenerateX25519Identity()
	opts := vault.Options{Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{id.Recipient()}}}}
	embedded, err := vault.Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer embedded.Close()
	meta, err := pgstore.Open(context.Background(), d.pg.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := s3blobs.New(d.client, d.weed.NewBucket(b), meta, s3blobs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	shared, err := vault.OpenShared(b.TempDir(), vault.Shared{Meta: meta, Blobs: blobs}, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer shared.Close()
	text := make([]byte, 2<<10)
	rand.Read(text)
	round := func(s *vault.Store, n, writers int) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range writers {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					acc := vault.Access{Lookup: []byte(rand.Text()), ReplyRecipient: id.Recipient().String()}
					batch, err := s.NewCase("a1", acc)
					if err != nil {
						b.Error(err)
						return
					}
					w, err := batch.Add(vault.KindReport, "")
					if err == nil {
						_, err = w.Write(text)
					}
					if err == nil {
						err = w.Close()
					}
					if err == nil {
						_, err = batch.Commit()
					}
					if err != nil {
						batch.Abort()
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	const n, writers = 400, 32
	var tb, tp []float64
	b.ResetTimer()
	for range b.N {
		for range 3 {
			tb = append(tb, float64(n)/round(embedded, n, writers).Seconds())
			tp = append(tp, float64(n)/round(shared, n, writers).Seconds())
		}
	}
	b.StopTimer()
	mb, mp := median(tb), median(tp)
	b.ReportMetric(mb, "badger-reports/s")
	b.ReportMetric(mp, "postgres-reports/s")
	b.ReportMetric(mp/mb, "postgres/badger")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestSharedPostgresS3OpenWhileSettled: an item opened while another
// front-end settles its case (the record read, then the object copied
// away and the original deleted, then the open) still opens, from the
// copy, byte for byte: an export in flight on one front-end survives the
// settling another one runs after midnight.
func TestSharedPostgresS3OpenWhileSettled(t *testing.T) {
	d := startDistributed(t)
	agency := must(age.GenerateX25519Identity())
	opts := vault.Options{Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{agency.Recipient()}}}}
	dir := t.TempDir()
	s := d.opener(t, dir, opts)
	acc, _ := storetest.NewAccess(t)
	b, err := s.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, b, vault.KindReport, "", []byte("report"))
	storetest.Put(t, b, vault.KindAttachment, "f.bin", bytes.Repeat([]byte{7}, 200_000))
	ref := storetest.Commit(t, b)
	c, err := s.Case(ref)
	if err != nil {
		t.Fatal(err)
	}
	id := c.Items[len(c.Items)-1].ID
	read := func() []byte {
		rc, err := s.OpenItem(ref, id)
		if err != nil {
			t.Fatalf("open the item: %v", err)
		}
		defer rc.Close()
		return must(io.ReadAll(rc))
	}
	want := read()

	settled := false
	defer vault.SetBeforeObjectOpen(func() {
		if !settled {
			settled = true
			if err := s.SettleCase(ref); err != nil {
				t.Errorf("settle: %v", err)
			}
		}
	})()
	if got := read(); !settled || !bytes.Equal(got, want) {
		t.Fatalf("opened while settled (settled: %v): %d bytes, want the %d stored", settled, len(got), len(want))
	}
}
