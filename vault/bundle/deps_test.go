package bundle_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// storePackages are what the offline opener must not link: the vault's
// store, its backends, and the clients of the engines under them. Each
// matches itself and the packages under it, except cleandrop/vault, which
// matches itself only (this package is under it).
var storePackages = []string{
	"cleandrop/vault",
	"cleandrop/vault/backend",
	"github.com/dgraph-io/badger",
	"github.com/jackc/pgx",
	"github.com/minio/minio-go",
}

// deps lists pkg and every package it imports, with go list.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}

// linked returns the packages of list that are a store package or under one.
func linked(list []string) []string {
	var found []string
	for _, p := range list {
		for _, s := range storePackages {
			if p == s || (s != "cleandrop/vault" && strings.HasPrefix(p, s+"/")) {
				found = append(found, p)
			}
		}
	}
	return found
}

// TestOpenerLinksNoStore: the package that 'cleandrop open' and
// 'cleandrop refer' run imports, directly or not, neither the vault nor
// Badger, pgx or minio-go. The cleandrop command, which links all of them
// and bundle too, shows that the check finds what it looks for.
func TestOpenerLinksNoStore(t *testing.T) {
	if found := linked(deps(t, "cleandrop/vault/bundle")); len(found) > 0 {
		t.Errorf("cleandrop/vault/bundle imports %v", found)
	}
	found := linked(deps(t, "cleandrop/cmd/cleandrop"))
	for _, want := range []string{"cleandrop/vault", "cleandrop/vault/backend/pgstore", "github.com/dgraph-io/badger/v4", "github.com/jackc/pgx/v5", "github.com/minio/minio-go/v7"} {
		if !slices.Contains(found, want) {
			t.Errorf("the check does not find %s among the cleandrop command's imports %v", want, found)
		}
	}
}
