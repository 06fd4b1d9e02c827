// Package exposure finds the details in a reporter's own text that may
// identify them: e-mail addresses, phone numbers, national identity and
// tax numbers (Korean resident registration and business numbers,
// Mongolian register numbers, Kosovo personal numbers, Uzbek PINFL and
// TIN), bank card and IBAN numbers, and first-person self-identification
// ("my name is", "I am the accountant of …") in the seven languages of the
// drop.
//
// [Check] works on a string in memory and returns where each detail is; it
// logs nothing, keeps nothing and calls no one. It is a reminder for the
// reporter, not a guarantee: it misses what it has no pattern for (a
// colleague's nickname, a rare job title) and warns about some numbers
// that are harmless.
package exposure
