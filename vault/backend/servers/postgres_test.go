package servers

import "testing"

// TestWithoutConflicts: a serialization failure goes with every line
// postgres adds to it (as PostgreSQL 15 logs them, checked against a real
// server), and nothing else goes.
func TestWithoutConflicts(t *testing.T) {
	log := "2026-12-02 08:50:01.000 UTC [1] LOG:  database system is ready\n" +
		"2026-12-02 08:50:02.002 UTC [21575] ERROR:  could not serialize access due to concurrent update\n" +
		"2026-12-02 08:50:02.002 UTC [21575] STATEMENT:  INSERT INTO cleandrop_kv (key, value) VALUES ($1, $2)\n" +
		"\t\t\tON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value\n" +
		"2026-12-02 08:50:03.002 UTC [21591] ERROR:  could not serialize access due to read/write dependencies among transactions\n" +
		"2026-12-02 08:50:03.002 UTC [21591] DETAIL:  Reason code: Canceled on identification as a pivot, during commit attempt.\n" +
		"2026-12-02 08:50:03.002 UTC [21591] HINT:  The transaction might succeed if retried.\n" +
		"2026-12-02 08:50:03.002 UTC [21591] STATEMENT:  commit\n" +
		"2026-12-02 08:50:03.500 UTC [21592] HINT:  another backend's hint, kept\n" +
		"2026-12-02 08:50:04.000 UTC [21600] ERROR:  relation \"x\" does not exist\n" +
		"2026-12-02 08:50:04.000 UTC [21600] STATEMENT:  SELECT 1 FROM x\n" +
		"2026-12-02 08:50:49.815 UTC [21490] LOG:  received fast shutdown request\n"
	got, n := withoutConflicts(log)
	want := "2026-12-02 08:50:01.000 UTC [1] LOG:  database system is ready\n" +
		"2026-12-02 08:50:03.500 UTC [21592] HINT:  another backend's hint, kept\n" +
		"2026-12-02 08:50:04.000 UTC [21600] ERROR:  relation \"x\" does not exist\n" +
		"2026-12-02 08:50:04.000 UTC [21600] STATEMENT:  SELECT 1 FROM x\n" +
		"2026-12-02 08:50:49.815 UTC [21490] LOG:  received fast shutdown request\n"
	if n != 2 || got != want {
		t.Fatalf("dropped %d, kept:\n%s\nwant 2, and:\n%s", n, got, want)
	}
}
