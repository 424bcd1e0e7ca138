package e2e_test

import (
	"testing"

	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestE2E builds localwhisk and every action once, then runs each scenario
// in parallel on its own localwhisk process and CouchDB database (sharing the
// binary's pouchdb-server and MinIO), so that no scenario sees another's
// triggers, alarms or records. Select one with -run 'TestE2E/polling'.
func TestE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the actions and runs the local stack; skipped in -short mode")
	}
	art := buildArtifacts(t)
	scenarios := []struct {
		name string
		run  func(t *testing.T, art *artifacts)
	}{
		// The reconcile scenario waits for its alarm's first poll: start it first.
		{"hooks reconcile poll", testHooksReconcile},
		{"deploy and undeploy", testDeployUndeploy},
		{"polling feed", testPollingFeed},
		{"polling reschedule", testReschedule},
		{"bad parameters", testBadParameters},
		{"trigger deleted behind the feed", testTriggerDeletedBehindFeed},
		{"health", testHealth},
		{"hooks feed", testHooksFeed},
		{"hooks keep other entries", testHooksKeepOtherEntries},
		{"hooks prefixes", testHooksPrefixes},
		{"hooks concurrent creates", testHooksConcurrentCreates},
		{"hooks wrong token", testHooksWrongToken},
		{"hooks queued redelivery", testHooksQueuedRedelivery},
		{"hooks bad parameters", testHooksBadParameters},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, art)
		})
	}
}
