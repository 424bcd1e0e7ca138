package alarms

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The feed parameters arrive as decoded JSON (map[string]any), and upstream
// interprets them with JavaScript's rules: a parameter that is missing, null,
// false, 0 or "" counts as absent, and values are quoted in messages as
// JavaScript prints them. These helpers reproduce exactly that much.

// truthy reports whether v is truthy in JavaScript.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	default:
		return true
	}
}

// jsText renders v as a JavaScript template string would.
func jsText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return formatNumber(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e != nil {
				parts[i] = jsText(e)
			}
		}
		return strings.Join(parts, ",")
	case map[string]any:
		return "[object Object]"
	default:
		return fmt.Sprint(x)
	}
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// maxEpochMillis is the largest date JavaScript represents (±8.64e15 ms).
const maxEpochMillis = 8.64e15

// isoLayouts are the ISO-8601 forms accepted for dates. Date-only forms are
// UTC and date-time forms without an offset are local time, as in JavaScript.
var isoLayouts = []struct {
	layout string
	local  bool
}{
	{"2006-01-02T15:04:05.999999999Z07:00", false},
	{"2006-01-02T15:04Z07:00", false},
	{"2006-01-02 15:04:05.999999999Z07:00", false},
	{"2006-01-02T15:04:05.999999999", true},
	{"2006-01-02T15:04", true},
	{"2006-01-02 15:04:05.999999999", true},
	{"2006-01-02 15:04", true},
	{"2006-01-02", false},
	{"2006-01", false},
	{"2006", false},
}

// parseDate converts a date parameter as JavaScript's new Date(v) would for
// the forms we accept: numbers are epoch milliseconds, strings ISO-8601.
func parseDate(v any) (time.Time, bool) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.Abs(x) > maxEpochMillis {
			return time.Time{}, false
		}
		return time.UnixMilli(int64(x)), true
	case bool:
		if x {
			return time.UnixMilli(1), true
		}
		return time.UnixMilli(0), true
	case string:
		s := strings.TrimSpace(x)
		for _, l := range isoLayouts {
			var t time.Time
			var err error
			if l.local {
				t, err = time.ParseInLocation(l.layout, s, time.Local)
			} else {
				t, err = time.Parse(l.layout, s)
			}
			if err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// checkDate validates a date parameter: a valid date, in the future and,
// when after is given, later than it. The message is upstream's.
func checkDate(now time.Time, v any, name string, after any) (time.Time, error) {
	t, ok := parseDate(v)
	switch {
	case !ok:
		return time.Time{}, badRequest("%s parameter '%s' is not a valid Date", name, jsText(v))
	case !now.Before(t):
		return time.Time{}, badRequest("%s parameter '%s' must be in the future", name, jsText(v))
	}
	if truthy(after) {
		if a, ok := parseDate(after); ok && !t.After(a) {
			return time.Time{}, badRequest("%s parameter '%s' must be greater than the startDate parameter '%s'", name, jsText(v), jsText(after))
		}
	}
	return t, nil
}

// parseMinutes validates the minutes parameter of interval alarms: a number,
// or a string holding one, that is a positive integer.
func parseMinutes(v any) (int, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, badRequest("the minutes parameter must be an integer")
		}
		f = n
	default:
		return 0, badRequest("the minutes parameter must be an integer")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, badRequest("the minutes parameter must be an integer")
	}
	if f <= 0 {
		return 0, badRequest("the minutes parameter must be an integer greater than zero")
	}
	if f > math.MaxInt32 {
		return 0, badRequest("the minutes parameter must be an integer of at most %d", math.MaxInt32)
	}
	return int(f), nil
}

// parseMaxTriggers reads the deprecated maxTriggers parameter (-1 when absent).
func parseMaxTriggers(v any) (int, error) {
	if !truthy(v) {
		return -1, nil
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, badRequest("maxTriggers parameter '%s' must be an integer", jsText(v))
		}
		f = n
	default:
		return 0, badRequest("maxTriggers parameter '%s' must be an integer", jsText(v))
	}
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, badRequest("maxTriggers parameter '%s' must be an integer", jsText(v))
	}
	if f <= 0 {
		return -1, nil
	}
	return int(f), nil
}

// payloadOf converts trigger_payload into the fire body: an object is sent
// as is, a string s (including the package default "") as {"payload": s},
// an absent or null value as {}. Other values cannot be a fire body.
func payloadOf(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case string:
		b, err := json.Marshal(map[string]string{"payload": x})
		if err != nil {
			return nil, fmt.Errorf("encode trigger_payload: %w", err)
		}
		return b, nil
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("encode trigger_payload: %w", err)
		}
		return b, nil
	case bool, float64:
		if !truthy(x) {
			return json.RawMessage("{}"), nil
		}
	}
	return nil, badRequest("trigger_payload parameter must be a JSON object or a string, got '%s'", jsText(v))
}

// isStrict interprets the strict parameter as upstream does: only true and
// the string "true" (any case) are strict.
func isStrict(v any) bool {
	if v == nil {
		return false
	}
	return strings.EqualFold(jsText(v), "true")
}
