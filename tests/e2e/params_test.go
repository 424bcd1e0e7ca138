package e2e_test

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// testBadParameters: a CREATE with bad parameters or credentials fails with
// a message naming what is wrong, and leaves nothing behind: wsk's rollback
// deletes the trigger, and the feed keeps no record, alarm or rule.
func testBadParameters(t *testing.T, art *artifacts) {
	st := newStack(t, art)
	bucket := testenv.NewBucket(t, st.s3URL)
	tests := []struct {
		name    string
		change  map[string]any // nil value: leave the parameter out
		mention string         // the message names it
	}{
		{"missing bucket", map[string]any{"bucket": nil}, `"bucket"`},
		{"interval 0", map[string]any{"cron": nil, "interval": 0}, `"interval"`},
		{"unknown event", map[string]any{"events": "foo"}, `"events"`},
		{"bad cron", map[string]any{"cron": "every second"}, `"cron"`},
		{"missing bucket on the store", map[string]any{"bucket": "no-such-bucket-" + randomHex(t, 4)}, "does not exist"},
		{"unknown access key", map[string]any{"s3_access_key_id": "nobody"}, "s3_access_key_id"},
		{"wrong secret key", map[string]any{"s3_secret_access_key": "not-the-secret"}, "s3_secret_access_key"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			params := st.feedParams(bucket)
			for k, v := range tc.change {
				delete(params, k)
				if v != nil {
					params[k] = v
				}
			}
			name := "bad-" + string(rune('a'+i))
			_, err := st.guest.CreateFeedTrigger(ctx, whisk.QName{Name: name}, changesFeed, maps.Clone(params))
			require.Error(t, err, "CREATE must fail")
			msg := feedError(t, err)
			assert.Contains(t, msg, tc.mention, "the message names the culprit")
			if s, ok := params["s3_secret_access_key"].(string); ok {
				assert.NotContains(t, msg, s, "the message shows the secret")
			}
			assert.NotContains(t, msg, guestKey, "the message shows the authKey")
			_, err = st.guest.Trigger(ctx, whisk.QName{Name: name})
			assert.True(t, whisk.IsNotFound(err), "the trigger is rolled back: expected 404, got %v", err)
			st.assertGone(t, name, feed.Alarm{})
		})
	}
	triggers, rules := st.whiskfeedEntities(t)
	assert.Empty(t, triggers, "alarm triggers left in whisk.system")
	assert.Empty(t, rules, "poll rules left in whisk.system")
	assert.Empty(t, st.docIDs(t), "documents left in the provider's database")
}
