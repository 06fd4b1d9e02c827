package source

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"

	"filippo.io/age"

	"cleandrop/drop/strip"
	"cleandrop/drop/strip/striptest"
	"cleandrop/vault"
)

// part is one form part, in order; a file when filename is set.
type part struct{ name, filename, content string }

func orderedBody(parts []part) (io.Reader, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		if p.filename != "" {
			w, _ := mw.CreateFormFile(p.name, p.filename)
			io.WriteString(w, p.content)
		} else {
			mw.WriteField(p.name, p.content)
		}
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

// items decrypts the items of the newest batch of the one case.
func (f *fixture) lastBatch(t *testing.T) (string, []vault.Item, map[int][]byte) {
	t.Helper()
	cs, err := f.store.Cases()
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d cases: %v", len(cs), err)
	}
	c := cs[0]
	last := c.Items[len(c.Items)-1].Batch
	var items []vault.Item
	data := map[int][]byte{}
	for _, it := range c.Items {
		if it.Batch != last {
			continue
		}
		items = append(items, it)
		rc, err := f.store.OpenItem(c.Ref, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		r, err := age.Decrypt(rc, f.id)
		if err != nil {
			t.Fatal(err)
		}
		data[it.ID], _ = io.ReadAll(r)
		rc.Close()
	}
	return c.Ref, items, data
}

func TestReportFilesCleaned(t *testing.T) {
	photo := string(striptest.JPEG())
	gif := "GIF89a\x01\x00\x01\x00\x00\x00\x00;"
	tests := []struct {
		name    string
		strip   []string // strip fields before the files
		cleaned bool
		page    []string
	}{
		{"no field: cleaned", nil, true, []string{"photo.jpg: hidden details removed: location (GPS), camera make, model and serial number", "notes.gif: sent as it is, not cleaned: its type (image/gif) is not one we can clean."}},
		{"box checked", []string{"0", "1"}, true, []string{"location (GPS)"}},
		{"box unchecked", []string{"0"}, false, []string{"photo.jpg: sent as it is, not cleaned: you chose to keep hidden details."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Strip = &strip.Cleaner{SpoolDir: t.TempDir()} })
			parts := []part{{"agency", "", "acc"}, {"message", "", "see the photo"}}
			for _, v := range tc.strip {
				parts = append(parts, part{"strip", "", v})
			}
			parts = append(parts, part{"file", "photo.jpg", photo}, part{"file", "notes.gif", gif})
			body, ct := orderedBody(parts)
			req := httptest.NewRequest(http.MethodPost, "/report", body)
			req.Header.Set("Content-Type", ct)
			w := f.do(req)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d:\n%s", w.Code, w.Body)
			}
			for _, s := range tc.page {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("the receipt page lacks %q", s)
				}
			}
			_, items, data := f.lastBatch(t)
			if len(items) != 4 || items[3].Kind != vault.KindCleaning {
				t.Fatalf("items %+v", items)
			}
			stored := data[items[1].ID]
			if has := bytes.Contains(stored, []byte("Jane Reporter")); has == tc.cleaned {
				t.Errorf("stored photo holds the owner's name: %v, cleaned: %v", has, tc.cleaned)
			}
			if string(data[items[2].ID]) != gif {
				t.Error("the GIF was changed")
			}
			note := string(data[items[3].ID])
			if !strings.Contains(note, "file 1: photo.jpg: ") || !strings.Contains(note, "file 2: notes.gif: sent as it is") {
				t.Errorf("the officer's note:\n%s", note)
			}
		})
	}
}

func TestStripFieldOrder(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		name  string
		parts []part
		text  string
	}{
		{"after a file", []part{{"agency", "", "acc"}, {"file", "a.txt", "x"}, {"strip", "", "0"}}, "wrong order"},
		{"not 0 or 1", []part{{"agency", "", "acc"}, {"strip", "", "yes"}, {"file", "a.txt", "x"}}, "unexpected field"},
		{"three times", []part{{"agency", "", "acc"}, {"strip", "", "0"}, {"strip", "", "1"}, {"strip", "", "1"}}, "too many files or messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := orderedBody(tc.parts)
			req := httptest.NewRequest(http.MethodPost, "/report", body)
			req.Header.Set("Content-Type", ct)
			w := f.do(req)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tc.text) {
				t.Fatalf("status %d, want 400 with %q:\n%s", w.Code, tc.text, w.Body)
			}
		})
	}
	if cs, _ := f.store.Cases(); len(cs) != 0 {
		t.Fatalf("%d cases kept", len(cs))
	}
}

// An answer's files are cleaned too; the case page says so once.
func TestAnswerFilesCleaned(t *testing.T) {
	f := newFixture(t, nil)
	w := f.report(t, [][2]string{{"agency", "acc"}, {"message", "hello"}}, nil)
	if strings.Contains(w.Body.String(), `id="files"`) {
		t.Error("a report without files lists files")
	}
	rc := receiptRe.FindStringSubmatch(w.Body.String())[1]
	lw := f.login(rc)
	cookies := lw.Result().Cookies()
	body, ct := orderedBody([]part{{"message", "", "more"}, {"strip", "", "0"}, {"strip", "", "1"}, {"file", "map.png", string(striptest.PNG())}})
	req := httptest.NewRequest(http.MethodPost, "/case/answer?lang=ru", body)
	req.Header.Set("Content-Type", ct)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if w := f.do(req); w.Code != http.StatusSeeOther {
		t.Fatalf("answer: %d", w.Code)
	}
	get := func() string {
		req := httptest.NewRequest(http.MethodGet, "/case?lang=ru", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return f.do(req).Body.String()
	}
	if page := get(); !strings.Contains(page, "map.png: удалены скрытые сведения: местоположение (GPS), производитель, модель и серийный номер камеры") {
		t.Errorf("the case page does not say what was removed:\n%s", page)
	}
	if page := get(); strings.Contains(page, "map.png") {
		t.Error("the file list shows again")
	}
	_, items, data := f.lastBatch(t)
	if len(items) != 3 || bytes.Contains(data[items[1].ID], []byte("Jane Reporter")) || items[2].Kind != vault.KindCleaning {
		t.Fatalf("answer items %+v", items)
	}
}

// TestSpoolOutOfRoom: a file spooled for cleaning that meets the vault's
// free-space floor, or a full disk, gets the vault's pages for them (507),
// not "the form could not be read", and nothing of the report is kept.
func TestSpoolOutOfRoom(t *testing.T) {
	for _, tc := range []struct {
		room error
		page string
	}{
		{vault.ErrLowSpace, "The drop is running low on space"},
		{&os.PathError{Op: "write", Path: "spool", Err: syscall.ENOSPC}, "The drop has no room for this file now"},
	} {
		f := newFixture(t, func(c *Config) {
			c.Strip = &strip.Cleaner{SpoolDir: t.TempDir(), Room: func() error { return tc.room }}
		})
		body, ct := orderedBody([]part{{"agency", "", "acc"}, {"message", "", "see the minutes"}, {"file", "minutes.pdf", "%PDF-1.4\nminutes"}})
		req := httptest.NewRequest(http.MethodPost, "/report", body)
		req.Header.Set("Content-Type", ct)
		w := f.do(req)
		if w.Code != http.StatusInsufficientStorage || !strings.Contains(w.Body.String(), tc.page) {
			t.Errorf("%v: status %d:\n%s", tc.room, w.Code, w.Body)
		}
		if cs, _ := f.store.Cases(); len(cs) != 0 {
			t.Errorf("%v: %d cases kept", tc.room, len(cs))
		}
	}
}
