// Package browsertest drives a real headless chromium the way a
// whistleblower's Tor Browser at "Safest" does: the pages' own JavaScript
// never runs. Tests use it to fill and submit the drop's forms end to end.
//
// [New] starts chromium with a fresh profile whose preferences block
// JavaScript for every site (Tor Browser's "Safest" level, as far as our
// pages can tell), and speaks the Chrome DevTools Protocol to it over
// --remote-debugging-pipe: no debugging port is opened. The driver itself
// uses DevTools to act on the page ([Browser.SetValue] types text with
// Input.insertText, [Browser.Click] dispatches a real mouse click); these
// calls run with DevTools' privileges, not as page script, so they work
// while page scripts stay off. [Browser.Evaluate] runs a test's own
// expression the same way, and [Browser.PressTab] presses Tab as the
// keyboard does.
//
// One exception: a checker injected through DevTools that needs timers
// (axe-core), which Chromium stops while page scripts are off, runs in a
// browser started with [Options.Checker], which leaves JavaScript on; the
// test then checks that the pages carry no script of their own.
//
// With [Options.Proxy] set, every request goes to the proxy and host names
// reach it unresolved, so .onion addresses resolve at tor. Even without a
// proxy chromium resolves no names: only 127.0.0.1 and localhost work,
// which keeps tests off the network. A few background requests to Google
// (component updates, account checks) still start; offline and through a
// private tor network they fail.
//
// [Browser.Close] kills chromium and every process it started, including
// the crash handler that detaches from the process tree, and removes the
// profile. [ArtifactDir] gives tests a place to keep screenshots.
//
// [NewFirefox] starts a headless Firefox (Debian's Firefox ESR, the engine
// Tor Browser is built on) with the preference Tor Browser's Safest level
// sets, javascript.enabled off, and drives it through Marionette, Firefox's
// own remote protocol, on a port of its choice on 127.0.0.1. Every request
// but to loopback goes through a SOCKS proxy that resolves names
// ([Options.Proxy], else a port where nothing listens): nothing is
// resolved on this machine and no background request leaves it. A
// [Firefox] has the methods a reporter's forms need, with the same
// meaning as [Browser]'s, so that one walk through the drop runs in both.
//
// The package is Linux-first: on Linux, chromium dies with the test
// process (PR_SET_PDEATHSIG) and stray processes are found through /proc.
package browsertest
