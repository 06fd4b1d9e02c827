package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cleandrop guide reads a draft from a file and prints the guide's JSON:
// the categories with the draft's words, the pack's body, the template.
func TestGuideCommand(t *testing.T) {
	draft := filepath.Join(t.TempDir(), "draft.txt")
	text := "2026년 3월 4일 (주)한빛건설 대표가 시청 공무원에게 현금 500만원을 봉투에 담아 뇌물로 건넸습니다."
	if err := os.WriteFile(draft, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"guide", "--jurisdiction", "kr", draft},
		{"guide", draft, "--jurisdiction", "kr", "--lang", "ko"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		var res struct {
			Lang       string `json:"lang"`
			Categories []struct {
				ID      string   `json:"id"`
				Score   float64  `json:"score"`
				Matched []string `json:"matched"`
			} `json:"categories"`
			Agency   string `json:"agency"`
			Template string `json:"template"`
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"lang", "categories", "agency", "template"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("no %q in the JSON", k)
			}
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		if res.Lang != "ko" || len(res.Categories) == 0 || res.Categories[0].ID != "bribery" || res.Agency != "acrc" {
			t.Errorf("%v: %+v", args, res)
		}
		if len(res.Categories[0].Matched) == 0 || res.Categories[0].Score <= 0 {
			t.Errorf("no evidence: %+v", res.Categories[0])
		}
		if !strings.Contains(res.Template, "2026년 3월 4일") || !strings.Contains(res.Template, "500만원") || !strings.Contains(res.Template, "(주)한빛건설") {
			t.Errorf("template not prefilled:\n%s", res.Template)
		}
		if errb.Len() != 0 {
			t.Errorf("stderr: %s", errb.String())
		}
	}
}

// Wrong use is refused with a clear message: exit 2 for the command line,
// 1 for an unknown pack or language or an unreadable file.
func TestGuideCommandErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.txt")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"guide"}, 2, "--jurisdiction"},
		{[]string{"guide", "--jurisdiction", "kr", "a", "b"}, 2, "--jurisdiction"},
		{[]string{"guide", "--jurisdiction", "zz", missing}, 1, "no such embedded pack"},
		{[]string{"guide", "--jurisdiction", "kr", "--lang", "xx", missing}, 1, `unknown language "xx"`},
		{[]string{"guide", "--jurisdiction", "kr", missing}, 1, "cleandrop: hint:"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errb.String(), c.code, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%v: stdout %q", c.args, out.String())
		}
	}
}
