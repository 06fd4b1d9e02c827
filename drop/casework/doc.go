// Package casework carries out what officers and the administrator do to a
// case: change its stage (with a note), ask the reporter a question, export
// it, download or upload an item, view it, and file a referral. The desk's
// pages, the desk's JSON API and the control socket all call [Desk], so the
// rules are written once and no path can skip one:
//
//   - scope: an officer acts only on cases of their agencies, and a case of
//     another agency is as absent as one that never existed
//     ([vault.ErrNotFound]); the administrator ([Admin]) acts on every case;
//   - validation: stage names come from the deployment's [stage.Policy];
//     questions and notes are trimmed, must be UTF-8 and at most
//     [MaxMessage] bytes, a question must not be empty, and a stage change
//     to the case's own stage needs a note;
//   - sealing: text goes to the vault, which seals it before any byte
//     reaches disk; uploads are age files sealed elsewhere, streamed as is;
//   - identities: an identity item is the custodian's ([RoleCustodian]):
//     only they download it or mark it opened ([Desk.IdentityOpened], the
//     audit entry "identity.opened"); a custodian changes nothing else;
//   - audit: every action is recorded with who did it and through which
//     path ([Path]). Reads (view, download, export) are recorded first and
//     refused if that fails; changes are recorded once committed, and a
//     failure to record one is logged, since the change itself stands.
//
// Audit entries carry names, action names, case references, stage names,
// item kinds and fixed referral reasons only: never text an officer or a
// reporter wrote. Nothing here logs a case reference.
package casework
