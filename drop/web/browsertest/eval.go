package browsertest

import (
	"errors"
	"fmt"
)

// Evaluate runs a JavaScript expression in the page through DevTools,
// which works with the page's own JavaScript disabled: it is how a test's
// checker (axe-core, a focus probe) reads the page, never something the
// page carries. A promise is awaited; the value is decoded into result
// (which may be nil).
func (b *Browser) Evaluate(expression string, result any) error {
	ctx, cancel := b.callCtx()
	defer cancel()
	var res evalResult
	if err := b.call(ctx, "Runtime.evaluate", map[string]any{
		"expression":    expression,
		"awaitPromise":  true,
		"returnByValue": true,
	}, &res); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if err := res.decode(result); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	return nil
}

// evalResult is what DevTools answers to Runtime.evaluate and
// Runtime.callFunctionOn.
type evalResult struct {
	Result struct {
		Value rawMessage `json:"value"`
	} `json:"result"`
	ExceptionDetails *struct {
		Text      string `json:"text"`
		Exception struct {
			Description string `json:"description"`
		} `json:"exception"`
	} `json:"exceptionDetails"`
}

// decode returns the page's exception as an error, or decodes the value
// into result (which may be nil).
func (r *evalResult) decode(result any) error {
	if e := r.ExceptionDetails; e != nil {
		if e.Exception.Description != "" {
			return errors.New(e.Exception.Description)
		}
		return errors.New(e.Text)
	}
	if result != nil && len(r.Result.Value) > 0 {
		return jsonUnmarshal(r.Result.Value, result)
	}
	return nil
}

// PressTab presses the Tab key (with Shift when back is true) as the
// keyboard does, moving the focus; it waits for no navigation.
func (b *Browser) PressTab(back bool) error {
	ctx, cancel := b.callCtx()
	defer cancel()
	mod := 0
	if back {
		mod = 8
	}
	for _, typ := range []string{"rawKeyDown", "keyUp"} {
		if err := b.call(ctx, "Input.dispatchKeyEvent", map[string]any{
			"type": typ, "key": "Tab", "code": "Tab", "modifiers": mod,
			"windowsVirtualKeyCode": 9, "nativeVirtualKeyCode": 9,
		}, nil); err != nil {
			return fmt.Errorf("press tab: %w", err)
		}
	}
	return nil
}

// PressEnter presses the Enter key as the keyboard does, activating the
// focused link or button; it waits for no navigation (a link to a
// fragment of the page loads nothing).
func (b *Browser) PressEnter() error {
	ctx, cancel := b.callCtx()
	defer cancel()
	for _, ev := range []map[string]any{
		{"type": "rawKeyDown", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13},
		{"type": "char", "key": "Enter", "code": "Enter", "text": "\r", "unmodifiedText": "\r", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13},
		{"type": "keyUp", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13},
	} {
		if err := b.call(ctx, "Input.dispatchKeyEvent", ev, nil); err != nil {
			return fmt.Errorf("press enter: %w", err)
		}
	}
	return nil
}
