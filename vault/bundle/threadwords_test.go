package bundle

import (
	"encoding/json"
	"os"
	"testing"
)

// TestThreadEnglishIsTheCatalogue: the English the opener labels a thread
// with, when no catalogue is passed, is the drop's en.json, so that
// 'cleandrop open' in English and the opener's default agree.
func TestThreadEnglishIsTheCatalogue(t *testing.T) {
	b, err := os.ReadFile("../../drop/web/locales/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var en map[string]string
	if err := json.Unmarshal(b, &en); err != nil {
		t.Fatal(err)
	}
	for k, v := range threadEnglish {
		if en[k] != v {
			t.Errorf("%s: the opener says %q, en.json %q", k, v, en[k])
		}
	}
}
