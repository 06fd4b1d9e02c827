package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cleandrop/drop/strip/striptest"
)

// needTool finds a program the test drives; without it the test skips
// and says why, except in CI, where make deps installs it.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed in CI: make deps should have installed %s", name, pkg)
		}
		t.Skipf("%s is not installed (Debian package %s; make deps)", name, pkg)
	}
	return p
}

// fileSystemTags are what exiftool says of the file as a file, not of
// its content.
var fileSystemTags = []string{
	"SourceFile", "ExifToolVersion", "FileName", "Directory", "FileSize", "FileModifyDate",
	"FileAccessDate", "FileInodeChangeDate", "FilePermissions",
}

// contentTags describe the content itself, which no cleaner removes:
// exiftool reports a PDF's page count only when it can walk the page tree,
// which it cannot in mat2's rebuilt PDF (it warns "Invalid xref table").
var contentTags = []string{"PageCount"}

// identifyingTags are the fields the test files carry: none may remain.
var identifyingTags = []string{
	"GPSLatitude", "GPSLongitude", "GPSPosition", "GPSLatitudeRef", "GPSLongitudeRef", "Make", "Model",
	"SerialNumber", "OwnerName", "Artist", "Software", "Author", "Creator", "Producer", "Title",
	"Subject", "LastModifiedBy", "Company", "Application", "Comment", "CreatorTool", "By-line",
	"CreateDate", "ModifyDate", "Copyright", "Owner", "ThumbnailImage", "Keywords",
}

// exifTags runs exiftool on path: every tag name it reports (beyond the
// file system's), and every value, as one text.
func exifTags(t *testing.T, exiftool, path string) ([]string, string) {
	t.Helper()
	out, err := exec.Command(exiftool, "-j", "-a", "-u", "-G1", path).Output()
	if err != nil {
		t.Fatalf("exiftool %s: %v", filepath.Base(path), err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(out, &recs); err != nil || len(recs) != 1 {
		t.Fatalf("exiftool %s: %v\n%s", filepath.Base(path), err, out)
	}
	var tags []string
	for k := range recs[0] {
		_, name, ok := strings.Cut(k, ":")
		if !ok {
			name = k
		}
		if slices.Contains(fileSystemTags, name) || strings.HasPrefix(k, "System:") {
			continue
		}
		tags = append(tags, name)
	}
	slices.Sort(tags)
	return slices.Compact(tags), string(out)
}

// mat2Clean runs mat2 on a copy of data and returns the cleaned file's
// path, and how mat2 was run.
func mat2Clean(t *testing.T, mat2, name string, data []byte) (string, string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, name)
	os.WriteFile(in, data, 0o600)
	ext := filepath.Ext(name)
	cleaned := strings.TrimSuffix(in, ext) + ".cleaned" + ext
	how := "mat2"
	if out, err := exec.Command(mat2, in).CombinedOutput(); err != nil {
		// mat2 refuses an office file with parts it does not know (here
		// comments.xml and people.xml) unless told to leave them out.
		how = "mat2 --unknown-members omit"
		if out2, err := exec.Command(mat2, "--unknown-members", "omit", in).CombinedOutput(); err != nil {
			t.Fatalf("mat2 %s: %v\n%s%s", name, err, out, out2)
		}
	}
	return cleaned, how
}

// opensWith checks a cleaned file with a real parser of its type.
func opensWith(t *testing.T, path string) {
	t.Helper()
	switch filepath.Ext(path) {
	case ".jpg", ".png":
		f, _ := os.Open(path)
		defer f.Close()
		if m, _, err := image.Decode(f); err != nil || m.Bounds().Dx() != 32 {
			t.Errorf("%s does not decode: %v", filepath.Base(path), err)
		}
	case ".pdf":
		out, err := exec.Command(needTool(t, "pdfinfo", "poppler-utils"), path).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("Pages:           1")) || bytes.Contains(out, []byte("Error")) {
			t.Errorf("pdfinfo %s: %v\n%s", filepath.Base(path), err, out)
		}
	case ".docx":
		if out, err := exec.Command("python3", "-m", "zipfile", "-t", path).CombinedOutput(); err != nil {
			t.Errorf("python3 -m zipfile -t %s: %v\n%s", filepath.Base(path), err, out)
		}
		const parse = `import sys, zipfile, xml.dom.minidom
z = zipfile.ZipFile(sys.argv[1])
n = 0
for name in z.namelist():
    if name.endswith(".xml") or name.endswith(".rels"):
        xml.dom.minidom.parseString(z.read(name)); n += 1
print(n)`
		if out, err := exec.Command("python3", "-c", parse, path).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) == "0" {
			t.Errorf("XML parts of %s: %v\n%s", filepath.Base(path), err, out)
		}
	}
}

// TestMetadataRemoved uploads files full of hidden details through the
// real server, exports the case, opens it offline, and checks with
// exiftool that none of those details remain, that each file still opens
// with a real parser, and that exiftool finds no more in ours than in
// mat2's cleaning of the same files.
func TestMetadataRemoved(t *testing.T) {
	exiftool := needTool(t, "exiftool", "libimage-exiftool-perl")
	mat2 := needTool(t, "mat2", "mat2")
	needTool(t, "pdfinfo", "poppler-utils")
	needTool(t, "python3", "python3")

	files := []struct {
		name string
		data []byte
	}{
		{"photo.jpg", striptest.JPEG()},
		{"drawing.png", striptest.PNG()},
		{"memo.pdf", striptest.PDF()},
		{"memo-1.5.pdf", striptest.PDFObjectStreams()},
		{"memo-edit.pdf", striptest.PDFIncremental()},
		{"memo.docx", striptest.DOCX()},
	}
	s := startDemo(t)
	r := newReporter(t, s.url)
	var ups []upload
	for _, f := range files {
		ups = append(ups, upload{f.name, bytes.NewReader(f.data)})
	}
	resp, body := r.postMultipart("/report", [][2]string{{"agency", "acc"}, {"message", "Files attached."}}, ups)
	if resp.StatusCode != 200 {
		t.Fatalf("report: %d\n%s", resp.StatusCode, body)
	}
	ref := refRe.FindString(body)
	for _, want := range []string{
		"photo.jpg: hidden details removed: location (GPS), camera make, model and serial number, owner&#39;s name, author, software",
		"drawing.png: hidden details removed:", "memo.pdf: hidden details removed: author, software, dates and times, title",
		"memo.docx: hidden details removed: location (GPS)", "comments&#39; authors, revision ids",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the receipt page lacks %q", want)
		}
	}
	if strings.Contains(body, "not cleaned") {
		t.Errorf("the receipt page says a file was not cleaned")
	}

	bundle := filepath.Join(t.TempDir(), "case.tar")
	s.cli(t, "export", "--case", ref, "-o", bundle)
	out := filepath.Join(t.TempDir(), "opened")
	if o, e, code := runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", out); code != 0 {
		t.Fatalf("open: %d\n%s%s", code, o, e)
	}
	thread, _ := os.ReadFile(filepath.Join(out, "thread.txt"))
	if !bytes.Contains(thread, []byte("file 1: photo.jpg: hidden details removed: location (GPS)")) ||
		!bytes.Contains(thread, []byte("file 6: memo.docx: hidden details removed:")) {
		t.Errorf("thread.txt does not tell the officer what was removed:\n%s", thread)
	}

	table := []string{fmt.Sprintf("%-13s | %-60s | %s", "file", "exiftool after cleandrop", "exiftool after mat2")}
	for i, f := range files {
		opened := filepath.Join(out, "files", fmt.Sprintf("%03d-%s", i+2, f.name))
		got, err := os.ReadFile(opened)
		if err != nil {
			t.Fatalf("opened file: %v", err)
		}
		ours, text := exifTags(t, exiftool, opened)
		for _, tag := range identifyingTags {
			if slices.Contains(ours, tag) {
				t.Errorf("%s: exiftool still finds %s", f.name, tag)
			}
		}
		for _, secret := range striptest.Secrets {
			if strings.Contains(text, secret) || bytes.Contains(got, []byte(secret)) {
				t.Errorf("%s: %q remains", f.name, secret)
			}
		}
		opensWith(t, opened)

		cleaned, how := mat2Clean(t, mat2, f.name, f.data)
		theirs, _ := exifTags(t, exiftool, cleaned)
		var more []string
		for _, tag := range ours {
			if !slices.Contains(theirs, tag) && !slices.Contains(contentTags, tag) {
				more = append(more, tag)
			}
		}
		if len(more) > 0 {
			t.Errorf("%s: exiftool finds %v after cleandrop, not after %s", f.name, more, how)
		}
		table = append(table, fmt.Sprintf("%-13s | %-60s | %s (%s)", f.name, strings.Join(ours, " "), strings.Join(theirs, " "), how))
	}
	measured(t, "exiftool tags left (beyond the file system's):\n%s", strings.Join(table, "\n"))
}
