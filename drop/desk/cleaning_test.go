package desk

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"filippo.io/age"

	"cleandrop/vault"
)

// A cleaning item (what was removed from the batch's files before
// sealing) is listed on the case page and in the API like any item.
func TestCleaningItemListed(t *testing.T) {
	f := newFixture(t)
	lookup := make([]byte, 32)
	rand.Read(lookup)
	reply, _ := age.GenerateX25519Identity()
	b, err := f.store.NewCase("acc", vault.Access{Lookup: lookup, KDF: "test", ReplyRecipient: reply.Recipient().String(), WrappedReply: []byte("w")})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []struct {
		kind       vault.Kind
		name, text string
	}{{vault.KindReport, "", "see the photo"}, {vault.KindAttachment, "photo.jpg", "\xff\xd8\xff"}, {vault.KindCleaning, "", "file 1: photo.jpg: …"}} {
		w, err := b.Add(it.kind, it.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, it.text)
		w.Close()
	}
	ref, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	secret := f.enrol("alice", RoleOfficer, "acc")
	br := f.login("alice", secret)
	if resp, body := br.get("/cases/" + ref); resp.StatusCode != 200 || !strings.Contains(body, "File cleaning") || !strings.Contains(body, "/cases/"+ref+"/items/3") {
		t.Fatalf("case page: %d\n%s", resp.StatusCode, body)
	}
	token, _ := f.acc.NewToken("alice", "script")
	resp := f.api(token, "GET", "/api/v1/cases/"+ref, "", nil)
	var d CaseDetail
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || len(d.ItemList) != 3 || d.ItemList[2].Kind != vault.KindCleaning {
		t.Fatalf("api: %d %+v %v", resp.StatusCode, d.ItemList, err)
	}
}
