package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A configured agency whose id is a pack body keeps what it sets and
// takes the rest from the pack; the pack's deadlines become the policy.
func TestConfigAgencyFromPack(t *testing.T) {
	const key = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	cfg, err := parseConfig(strings.NewReader(`{"data_dir": "d", "jurisdiction": "mn", "agencies": [
		{"id": "iaac", "name": "Our IAAC desk", "sector": "prosecution", "recipients": ["`+key+`"]},
		{"id": "own", "name": "Own body", "recipients": ["`+key+`"]}]}`), filepath.Join(t.TempDir(), "c.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, own := cfg.agencies[0].AgencyConfig, cfg.agencies[1].AgencyConfig
	if a.Name != "Our IAAC desk" || a.Sector != "prosecution" {
		t.Errorf("configured fields overwritten: %+v", a)
	}
	if a.Names["mn"] != "Авлигатай тэмцэх газар" || a.Region != "national" || !a.Central || len(a.Keywords["mn"]) == 0 || a.Translit == "" {
		t.Errorf("pack fields not filled in: %+v", a)
	}
	if own.Sector != "other" || own.Central || own.Names != nil || own.Keywords != nil { // "other": the directory's default
		t.Errorf("an agency outside the pack got pack fields: %+v", own)
	}
	if cfg.policy.Name != "mn" || len(cfg.policy.Rules) != 1 || cfg.policy.Rules[0].Days != 30 || cfg.Language != "mn" {
		t.Errorf("policy %+v, language %s", cfg.policy, cfg.Language)
	}
}
