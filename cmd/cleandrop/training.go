package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cleandrop/drop/receipt"
	"cleandrop/drop/stage"
	"cleandrop/vault"
)

// trainingCase is one made-up case the demo files so that staff can learn
// the desk without real data: opened Ago days before today, then moved
// through Moves (stage at a number of days after opening).
type trainingCase struct {
	Ago   int
	Moves []trainingMove
}

type trainingMove struct {
	After int
	Stage string
}

// trainingText holds the training reports and officer notes by language;
// English stands in for a language without them. The reports are
// invented and name no real person.
var trainingText = map[string]struct {
	Reports [5]string
	Note    string
}{
	"en": {[5]string{
		"TRAINING CASE. The head of the licensing office asks applicants for cash to speed up building permits.",
		"TRAINING CASE. A road repair tender was split into small contracts so that no open tender was needed.",
		"TRAINING CASE. Hospital staff are told to record visits that never happened.",
		"TRAINING CASE. My supervisor moved me to a distant branch after I reported missing funds.",
		"TRAINING CASE. The district office hired the director's nephew without any competition.",
	}, "TRAINING NOTE. We have received your report and are assessing it."},
	"ko": {[5]string{
		"교육용 사례. 인허가 부서장이 건축 허가를 빨리 내주는 대가로 현금을 요구합니다.",
		"교육용 사례. 도로 보수 공사를 공개 입찰 없이 하려고 작은 계약으로 쪼갰습니다.",
		"교육용 사례. 병원 직원들에게 실제로 없었던 진료를 기록하라고 지시합니다.",
		"교육용 사례. 자금 유용을 신고한 뒤 상사가 저를 먼 지점으로 발령했습니다.",
		"교육용 사례. 구청이 경쟁 없이 청장의 조카를 채용했습니다.",
	}, "교육용 메모. 신고를 접수하여 검토하고 있습니다."},
	"mn": {[5]string{
		"СУРГАЛТЫН ХЭРЭГ. Тусгай зөвшөөрлийн албаны дарга барилгын зөвшөөрлийг хурдан олгохын тулд бэлэн мөнгө шаарддаг.",
		"СУРГАЛТЫН ХЭРЭГ. Зам засварын тендерийг нээлттэй тендер зарлахгүйн тулд жижиг гэрээнүүдэд хуваасан.",
		"СУРГАЛТЫН ХЭРЭГ. Эмнэлгийн ажилтнуудад болоогүй үзлэгийг бүртгэхийг үүрэгдүүлдэг.",
		"СУРГАЛТЫН ХЭРЭГ. Алга болсон мөнгийг мэдээлсний дараа дарга маань намайг алс салбар руу шилжүүлсэн.",
		"СУРГАЛТЫН ХЭРЭГ. Дүүргийн алба даргынхаа ач хүүг ямар ч сонгон шалгаруулалтгүйгээр ажилд авсан.",
	}, "СУРГАЛТЫН ТЭМДЭГЛЭЛ. Таны мэдээллийг хүлээн авч, хянаж байна."},
	"sq": {[5]string{
		"RAST TRAJNIMI. Shefi i zyrës së licencave u kërkon aplikuesve para në dorë për të shpejtuar lejet e ndërtimit.",
		"RAST TRAJNIMI. Tenderi për riparimin e rrugës u nda në kontrata të vogla që të mos duhej tender i hapur.",
		"RAST TRAJNIMI. Stafit të spitalit i kërkohet të regjistrojë vizita që nuk kanë ndodhur kurrë.",
		"RAST TRAJNIMI. Mbikëqyrësi më transferoi në një degë të largët pasi raportova fonde që mungonin.",
		"RAST TRAJNIMI. Zyra komunale punësoi nipin e drejtorit pa asnjë konkurs.",
	}, "SHËNIM TRAJNIMI. E kemi marrë raportin tuaj dhe po e vlerësojmë."},
	"uz": {[5]string{
		"OʻQUV ISHI. Litsenziya boʻlimi boshligʻi qurilish ruxsatnomasini tezlashtirish uchun arizachilardan naqd pul soʻraydi.",
		"OʻQUV ISHI. Yoʻl taʼmirlash tenderi ochiq tanlov oʻtkazmaslik uchun kichik shartnomalarga boʻlindi.",
		"OʻQUV ISHI. Shifoxona xodimlariga hech qachon boʻlmagan qabullarni qayd etish buyuriladi.",
		"OʻQUV ISHI. Yoʻqolgan mablagʻ haqida xabar berganimdan keyin rahbarim meni uzoq filialga oʻtkazdi.",
		"OʻQUV ISHI. Tuman idorasi direktorning jiyanini hech qanday tanlovsiz ishga oldi.",
	}, "OʻQUV ESLATMASI. Xabaringiz qabul qilindi va koʻrib chiqilmoqda."},
}

// trainingCases span the stages: a new case, one acknowledged, one under
// investigation, one closed, and one left at received long enough to be
// overdue under any of the packs' first deadlines.
func trainingCases(p stage.Policy) []trainingCase {
	overdue := 0
	for _, r := range p.Rules {
		overdue = max(overdue, r.Days+31*r.Months)
	}
	cs := []trainingCase{
		{Ago: 1},
		{Ago: 4, Moves: []trainingMove{{1, "acknowledged"}}},
		{Ago: 20, Moves: []trainingMove{{2, "acknowledged"}, {10, "investigating"}}},
		{Ago: overdue + 9},
		{Ago: 40, Moves: []trainingMove{{1, "acknowledged"}, {15, "closed"}}},
	}
	for i := range cs {
		var keep []trainingMove
		for _, m := range cs[i].Moves {
			if p.Has(m.Stage) {
				keep = append(keep, m)
			}
		}
		cs[i].Moves = keep
	}
	return cs
}

// seedTraining files the training cases into the demo vault once, with
// past days, and writes their receipts beside the demo configuration so
// staff can also follow a case as its reporter would. It returns how many
// it filed (0 when done before) and the receipts file.
func seedTraining(cfg *Config) (int, string, error) {
	dir := filepath.Join(cfg.DataDir, "demo")
	file := filepath.Join(dir, "training-receipts.txt")
	if _, err := os.Stat(file); err == nil {
		return 0, file, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, "", err
	}
	vaultDir := filepath.Join(cfg.DataDir, "vault")
	if err := checkPrivateDir(cfg.DataDir); err != nil {
		return 0, "", err
	}
	pepper, err := loadPepper(cfg.PepperFile, vaultDir)
	if err != nil {
		return 0, "", err
	}
	var agencies []vault.Agency
	for _, a := range cfg.agencies {
		agencies = append(agencies, vault.Agency{ID: a.ID, Name: a.Name, Recipients: a.recipients})
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	day := today
	st, err := vault.Open(vaultDir, vault.Options{Agencies: agencies, Tick: cfg.tick, Now: func() time.Time { return day }})
	if err != nil {
		return 0, "", err
	}
	defer st.Close()
	text, ok := trainingText[cfg.Language]
	if !ok {
		text = trainingText["en"]
	}
	var out strings.Builder
	cases := trainingCases(cfg.policy)
	for i, tc := range cases {
		ag := cfg.agencies[i%len(cfg.agencies)]
		day = today.AddDate(0, 0, -tc.Ago)
		rc, err := receipt.Generate(cfg.format)
		if err != nil {
			return 0, "", err
		}
		keys, err := receipt.Derive(rc, pepper, receipt.DefaultParams)
		if err != nil {
			return 0, "", err
		}
		rk, err := receipt.NewReplyKey(ag.pq)
		if err != nil {
			return 0, "", err
		}
		wrapped, err := keys.Wrap(rk)
		if err != nil {
			return 0, "", err
		}
		b, err := st.NewCase(ag.ID, vault.Access{Lookup: keys.Lookup, KDF: receipt.DefaultParams.String(), ReplyRecipient: rk.Recipient, WrappedReply: wrapped})
		if err != nil {
			return 0, "", err
		}
		w, err := b.Add(vault.KindReport, "")
		if err == nil {
			_, err = io.WriteString(w, text.Reports[i%len(text.Reports)])
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			b.Abort()
			return 0, "", err
		}
		ref, err := b.Commit()
		if err != nil {
			return 0, "", err
		}
		for _, m := range tc.Moves {
			day = today.AddDate(0, 0, -tc.Ago+m.After)
			if err := st.Post(ref, m.Stage, vault.KindNote, []byte(text.Note)); err != nil {
				return 0, "", err
			}
		}
		last := vault.InitialStage
		if len(tc.Moves) > 0 {
			last = tc.Moves[len(tc.Moves)-1].Stage
		}
		fmt.Fprintf(&out, "%s\t%s\t%s\topened %s\t%s\n", ref, ag.ID, last, today.AddDate(0, 0, -tc.Ago).Format(time.DateOnly), rc)
	}
	if err := writeNew(file, []byte(out.String())); err != nil {
		return 0, "", err
	}
	return len(cases), file, nil
}
