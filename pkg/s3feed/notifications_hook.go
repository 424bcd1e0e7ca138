package s3feed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

// NotificationEvent is the payload fired at a user's trigger for one bucket
// notification. It has the fields of Event, and the same EventID for the
// same change where the notification carries what the identifier needs, plus
// the store's own event name and time.
type NotificationEvent struct {
	Bucket  string       `json:"bucket"`
	Key     string       `json:"key"`
	Status  Status       `json:"status"`
	File    NotifiedFile `json:"file"`
	EventID string       `json:"event_id"`
	Source  string       `json:"source"`
	// EventName is the store's name of the event, such as
	// "s3:ObjectCreated:Put" (MinIO) or "ObjectCreated:Put" (AWS).
	EventName string `json:"event_name"`
	// EventTime is when the store says the event happened.
	EventTime time.Time `json:"event_time,omitzero"`
}

// NotifiedFile is the "file" member of a NotificationEvent: what the
// notification tells of the object. A deletion tells its Key, and its ETag
// only when the store gives one (MinIO and AWS do not).
type NotifiedFile struct {
	Key  string `json:"Key"`
	ETag string `json:"ETag,omitempty"`
	// Size and LastModified (the event's time) are given for added objects.
	Size         *int64     `json:"Size,omitempty"`
	LastModified *time.Time `json:"LastModified,omitempty"`
}

// NotificationBatch is the payload of one fire carrying several events
// (batch_size > 1): NotificationEvent values, and Event values from a
// reconcile poll.
type NotificationBatch struct {
	Bucket string `json:"bucket"`
	Events []any  `json:"events"`
}

// ParamHookEndpoint is the query parameter of the webhook URL that names the
// store sending to it, written as users write s3_endpoint. Without it the
// store is told by the delivery (MinIO's x-minio-origin-endpoint), or is AWS
// S3 for records whose eventSource is "aws:s3".
const ParamHookEndpoint = "endpoint"

// delivery is the body of a webhook delivery: MinIO's
// {"EventName", "Key", "Records"} or the AWS event {"Records"}.
type delivery struct {
	EventName string         `json:"EventName"`
	Key       string         `json:"Key"`
	Records   []notification `json:"Records"`
	// An AWS test event ({"Service": "Amazon S3", "Event": "s3:TestEvent"}).
	Event string `json:"Event"`
}

// notification is one record of a delivery, in the AWS event format.
type notification struct {
	EventSource      string            `json:"eventSource"`
	EventTime        string            `json:"eventTime"`
	EventName        string            `json:"eventName"`
	ResponseElements map[string]string `json:"responseElements"`
	S3               struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      int64  `json:"size"`
			ETag      string `json:"eTag"`
			VersionID string `json:"versionId"`
			Sequencer string `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

// malformed is a delivery the webhook answers 400.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: malformed delivery: %s", feed.ErrInvalidParams, fmt.Sprintf(format, args...))
}

// Receive reads a delivery: MinIO's webhook body or an AWS event
// ({"Records": [...]}). Object keys arrive URL-encoded (form encoding, '+'
// for a space) and are decoded. ObjectCreated events become "added" and
// ObjectRemoved events "deleted"; events that change no content
// (ObjectCreated:PutTagging, DeleteTagging, PutRetention, PutLegalHold,
// ObjectRemoved:NoOP) and other event types are dropped. Every record must
// concern one bucket of one store; see ParamHookEndpoint for how the store
// is told.
func (*NotificationsSource) Receive(_ context.Context, r *runtime.WebRequest) (string, []feed.Event, error) {
	var d delivery
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	if err := dec.Decode(&d); err != nil {
		return "", nil, malformed("expected a JSON object with Records: %v", err)
	}
	if len(d.Records) == 0 {
		if d.Event == "s3:TestEvent" {
			return "", nil, nil
		}
		return "", nil, malformed("no Records")
	}
	endpoint, given, err := hookEndpoint(r)
	if err != nil {
		return "", nil, err
	}
	var target string
	events := make([]feed.Event, 0, len(d.Records))
	for i, rec := range d.Records {
		bucket := rec.S3.Bucket.Name
		if bucket == "" || rec.S3.Object.Key == "" {
			return "", nil, malformed("record %d names no bucket or object key", i)
		}
		ep := endpoint
		if !given {
			if ep, err = recordEndpoint(rec); err != nil {
				return "", nil, err
			}
		}
		t := targetName(ep, bucket)
		if target != "" && t != target {
			return "", nil, malformed("records of %s and %s in one delivery", target, t)
		}
		target = t
		e, ok, err := rec.event()
		if err != nil {
			return "", nil, malformed("record %d: %v", i, err)
		}
		if ok {
			events = append(events, feed.Event{ID: e.EventID, Data: e})
		}
	}
	return target, events, nil
}

// hookEndpoint returns the endpoint named by the webhook URL's query, and
// whether it was.
func hookEndpoint(r *runtime.WebRequest) (string, bool, error) {
	raw := ""
	if q, err := url.ParseQuery(r.Query); err == nil && q.Has(ParamHookEndpoint) {
		raw = q.Get(ParamHookEndpoint)
	} else if v, ok := r.Params[ParamHookEndpoint].(string); ok {
		raw = v
	} else {
		return "", false, nil
	}
	if raw == "" {
		return "", true, nil // AWS S3
	}
	e, ok := normalizeEndpoint(raw)
	if !ok {
		return "", false, malformed("query parameter %q: expected the store's URL as users give it in s3_endpoint, got %q", ParamHookEndpoint, raw)
	}
	return e, true, nil
}

// recordEndpoint tells the store of a record from the record itself.
func recordEndpoint(rec notification) (string, error) {
	if origin := rec.ResponseElements["x-minio-origin-endpoint"]; origin != "" {
		e, ok := normalizeEndpoint(origin)
		if !ok {
			return "", malformed("x-minio-origin-endpoint %q is not a URL", origin)
		}
		return e, nil
	}
	if rec.EventSource == "aws:s3" {
		return "", nil
	}
	return "", malformed("the record does not tell which store sent it: add ?%s=<s3_endpoint> to the webhook URL", ParamHookEndpoint)
}

// contentless are the event names, without "s3:", that change no content.
var contentless = map[string]bool{
	"ObjectCreated:PutTagging":    true,
	"ObjectCreated:DeleteTagging": true,
	"ObjectCreated:PutRetention":  true,
	"ObjectCreated:PutLegalHold":  true,
	"ObjectRemoved:NoOP":          true,
}

// event returns the event of the record, and false for records that are
// not announced.
func (rec notification) event() (NotificationEvent, bool, error) {
	name := strings.TrimPrefix(rec.EventName, "s3:")
	var status Status
	switch {
	case contentless[name]:
		return NotificationEvent{}, false, nil
	case strings.HasPrefix(name, "ObjectCreated:"):
		status = StatusAdded
	case strings.HasPrefix(name, "ObjectRemoved:"):
		status = StatusDeleted
	default:
		return NotificationEvent{}, false, nil
	}
	key, err := url.QueryUnescape(rec.S3.Object.Key)
	if err != nil {
		return NotificationEvent{}, false, fmt.Errorf("object key %q is not URL-encoded: %w", rec.S3.Object.Key, err)
	}
	var at time.Time
	if rec.EventTime != "" {
		if at, err = time.Parse(time.RFC3339Nano, rec.EventTime); err != nil {
			return NotificationEvent{}, false, fmt.Errorf("eventTime %q is not an RFC 3339 time", rec.EventTime)
		}
		at = at.UTC()
	}
	bucket := rec.S3.Bucket.Name
	etag := NormalizeETag(rec.S3.Object.ETag)
	e := NotificationEvent{
		Bucket:    bucket,
		Key:       key,
		Status:    status,
		File:      NotifiedFile{Key: key, ETag: etag},
		EventID:   EventID(bucket, key, etag, status),
		Source:    SourceNotification,
		EventName: rec.EventName,
		EventTime: at,
	}
	if status == StatusAdded {
		size := rec.S3.Object.Size
		e.File.Size = &size
		if !at.IsZero() {
			e.File.LastModified = &at
		}
	}
	return e, true, nil
}

// eventFields returns what the toolkit's hooks need of an event's payload.
func eventFields(e feed.Event) (bucket, key, etag string, status Status, at time.Time, ok bool) {
	switch d := e.Data.(type) {
	case NotificationEvent:
		return d.Bucket, d.Key, d.File.ETag, d.Status, d.EventTime, true
	case Event:
		return d.Bucket, d.Key, d.File.ETag, d.Status, time.Time{}, true
	}
	return "", "", "", "", time.Time{}, false
}

// Match reports whether trigger t selects e: its prefix, suffix and events
// (added selects what a reconcile poll reports as modified too).
func (*NotificationsSource) Match(t *feed.Trigger, e feed.Event) bool {
	_, key, _, status, _, ok := eventFields(e)
	if !ok {
		return false
	}
	var s NotificationsSettings
	if err := t.Settings(&s); err != nil {
		return false
	}
	return s.Filter().Match(key, status)
}

// Batch wraps events in one payload, {"bucket": …, "events": […]}.
func (*NotificationsSource) Batch(t *feed.Trigger, events []feed.Event) any {
	b := NotificationBatch{Events: make([]any, 0, len(events))}
	for _, e := range events {
		if bucket, _, _, _, _, ok := eventFields(e); ok {
			b.Bucket = bucket
			b.Events = append(b.Events, e.Data)
		}
	}
	if b.Bucket == "" {
		if s, err := notificationSettings(t); err == nil {
			b.Bucket = s.Bucket
		}
	}
	return b
}

// Dedup names the change an event reports, whichever path reported it: an
// object written is its bucket, key and ETag (a notification says "added"
// where a poll may say "modified"); a deletion is its bucket and key (MinIO
// and AWS notifications carry no ETag for deletions).
func (*NotificationsSource) Dedup(e feed.Event) (string, time.Time) {
	bucket, key, etag, status, at, ok := eventFields(e)
	if !ok {
		return "", time.Time{}
	}
	if status == StatusDeleted {
		return "deleted\x00" + bucket + "\x00" + key, at
	}
	return "written\x00" + bucket + "\x00" + key + "\x00" + etag, at
}

// reconcileTrigger returns t as the reconcile poll sees it: an s3-changes
// trigger with its bucket, filters and secret.
func reconcileTrigger(t *feed.Trigger) (*feed.Trigger, error) {
	s, err := notificationSettings(t)
	if err != nil {
		return nil, err
	}
	var events []string
	for _, e := range s.Events {
		events = append(events, e)
		if Status(e) == StatusAdded {
			events = append(events, string(StatusModified))
		}
	}
	c := ChangesSettings{BucketConfig: s.BucketConfig, Prefix: s.Prefix, Suffix: s.Suffix, Events: events, Initial: InitialBaseline}
	return feed.NewTrigger(t.Namespace, t.Name, t.Kind, c, map[string]string{ParamSecretKey: t.Secret(ParamSecretKey)})
}

// Poll is the reconcile poll: it lists the bucket and fires what changed
// since the previous poll, as ChangesSource does; the toolkit drops what
// the notifications fired already.
func (s *NotificationsSource) Poll(ctx context.Context, ses *feed.Session) error {
	return s.reconcile(ses, func() error { return s.changes.Poll(ctx, ses) })
}

// Baseline records the listing when a reconcile poll is set up, without
// announcing it.
func (s *NotificationsSource) Baseline(ctx context.Context, ses *feed.Session) error {
	return s.reconcile(ses, func() error { return s.changes.Baseline(ctx, ses) })
}

// reconcile runs f with the session's trigger seen as an s3-changes one.
func (s *NotificationsSource) reconcile(ses *feed.Session, f func() error) error {
	t := ses.Trigger
	rt, err := reconcileTrigger(t)
	if err != nil {
		return err
	}
	ses.Trigger = rt
	defer func() { ses.Trigger = t }()
	return f()
}
