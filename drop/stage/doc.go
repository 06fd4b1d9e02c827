// Package stage holds the life of a case: its stages and the legal
// deadlines that run between them ([Policy]). Deadlines are configuration,
// with two profiles built in: [EU] (Directive 2019/1937: acknowledge within
// 7 days, feedback within 3 months of acknowledgement) and [Korea] (60 days
// to process a report).
//
// Everything here works on days ("2006-01-02", UTC), the only precision the
// vault stores.
package stage
