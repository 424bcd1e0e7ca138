package s3feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

// KindNotifications is the kind of the S3 source fed by bucket notifications.
const KindNotifications = "s3-notifications"

// ParamReconcileInterval asks for a slow poll of a notified bucket, every so
// many minutes (0, the default, for none), that fires what the store's
// notifications missed.
const ParamReconcileInterval = "reconcile_interval"

// EntryPrefix starts the Id of every notification entry whiskfeed writes in
// a bucket's notification configuration; entries without it are never
// changed.
const EntryPrefix = "whiskfeed-"

// The S3 event types a whiskfeed notification entry asks for.
const (
	EventTypeCreated = "s3:ObjectCreated:*"
	EventTypeRemoved = "s3:ObjectRemoved:*"
)

// maxReconcileInterval is the longest reconcile interval, in minutes (a day,
// the longest polling interval).
const maxReconcileInterval = 1440

var notificationEvents = []string{string(StatusAdded), string(StatusDeleted)}

// NotificationsSettings are the settings of an s3-notifications trigger,
// keyed by parameter name.
type NotificationsSettings struct {
	BucketConfig
	Prefix string `json:"prefix,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	// Events is a subset of added and deleted.
	Events []string `json:"events"`
	// ReconcileInterval is the minutes between reconcile polls; 0 for none.
	ReconcileInterval int `json:"reconcile_interval,omitempty"`
}

// Filter returns the filter the settings select. "added" selects objects
// written, which a reconcile poll reports as added or modified.
func (s NotificationsSettings) Filter() Filter {
	f := Filter{Prefix: s.Prefix, Suffix: s.Suffix}
	for _, e := range s.Events {
		f.Events |= statusBit(Status(e))
		if Status(e) == StatusAdded {
			f.Events |= setModified
		}
	}
	return f
}

// ConfigureNotifications reads the parameters of an s3-notifications trigger
// (see ConfigureBucket, plus prefix, suffix, events and reconcile_interval);
// problems are recorded in p.
func ConfigureNotifications(p *feed.Params) NotificationsSettings {
	s := NotificationsSettings{
		BucketConfig:      ConfigureBucket(p),
		Prefix:            p.String(ParamPrefix, ""),
		Suffix:            p.String(ParamSuffix, ""),
		Events:            p.Set(ParamEvents, notificationEvents, notificationEvents...),
		ReconcileInterval: p.Int(ParamReconcileInterval, 0, 0, maxReconcileInterval),
	}
	if len(s.Prefix) > maxKeyBytes {
		p.Invalid(ParamPrefix, "at most 1024 bytes, the longest S3 key", s.Prefix)
	}
	if len(s.Suffix) > maxKeyBytes {
		p.Invalid(ParamSuffix, "at most 1024 bytes, the longest S3 key", s.Suffix)
	}
	return s
}

// NotificationsSource is the S3 source fed by bucket notifications (the hooks
// pattern): CREATE adds an entry to the bucket's notification configuration
// that sends the store's events to the provider's webhook, and each
// delivery fires the triggers of that bucket whose filters select it. With
// reconcile_interval, a trigger is also polled, slowly, as ChangesSource
// polls, to fire what notifications missed; the toolkit drops what both
// paths report (see feed.Deduper). Build it with Notifications. It holds no
// per-trigger state and is safe for concurrent use.
//
// One entry per bucket and destination, with the Id EntryPrefix followed by
// a hash of the destination ARN, covers every whiskfeed trigger of the
// bucket: the union of their event types, and the longest prefix and suffix
// they share (S3 refuses overlapping entries for one destination). Other
// entries of the configuration, including those of other destinations, are
// kept as they are.
type NotificationsSource struct {
	changes *ChangesSource // the reconcile poll, and the S3 client options
}

var (
	_ feed.Subscriber    = (*NotificationsSource)(nil)
	_ feed.Validator     = (*NotificationsSource)(nil)
	_ feed.Filterer      = (*NotificationsSource)(nil)
	_ feed.Batcher       = (*NotificationsSource)(nil)
	_ feed.Poller        = (*NotificationsSource)(nil)
	_ feed.Baseliner     = (*NotificationsSource)(nil)
	_ feed.PollScheduler = (*NotificationsSource)(nil)
	_ feed.Deduper       = (*NotificationsSource)(nil)
	_ feed.StateKeyer    = (*NotificationsSource)(nil)
)

// Notifications returns the S3 source fed by bucket notifications, kind
// "s3-notifications". The options are those of Changes: they set its S3
// requests and its reconcile poll.
func Notifications(opts ...ChangesOption) *NotificationsSource {
	return &NotificationsSource{changes: Changes(opts...)}
}

// Kind returns "s3-notifications".
func (*NotificationsSource) Kind() string { return KindNotifications }

// Configure reads bucket, s3_endpoint, s3_region, s3_access_key_id,
// s3_secret_access_key, s3_path_style, prefix, suffix, events and
// reconcile_interval, and returns NotificationsSettings. It does no I/O.
func (*NotificationsSource) Configure(p *feed.Params) (any, error) {
	return ConfigureNotifications(p), nil
}

func notificationSettings(t *feed.Trigger) (NotificationsSettings, error) {
	var s NotificationsSettings
	if err := t.Settings(&s); err != nil {
		return s, err
	}
	if s.Bucket == "" {
		return s, fmt.Errorf("trigger %s: settings name no bucket", t)
	}
	return s, nil
}

// Target names the bucket of t: "<endpoint>/<bucket>", the endpoint with
// its scheme and host in lower case, or "s3://<bucket>" for AWS S3.
func (*NotificationsSource) Target(t *feed.Trigger) string {
	s, _ := notificationSettings(t)
	return targetName(s.Endpoint, s.Bucket)
}

func targetName(endpoint, bucket string) string {
	if endpoint == "" {
		return "s3://" + bucket
	}
	if u, err := url.Parse(endpoint); err == nil {
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		endpoint = strings.TrimRight(u.String(), "/")
	}
	return endpoint + "/" + bucket
}

// PollSchedule returns the reconcile schedule of t, and false without one.
func (*NotificationsSource) PollSchedule(t *feed.Trigger) (feed.Schedule, bool) {
	s, err := notificationSettings(t)
	if err != nil || s.ReconcileInterval <= 0 {
		return feed.Schedule{}, false
	}
	return feed.Schedule{Interval: s.ReconcileInterval}, true
}

// StateKeys are the settings the reconcile snapshot depends on.
func (*NotificationsSource) StateKeys() []string {
	return []string{ParamBucket, ParamEndpoint, ParamPrefix}
}

// Validate checks, with the trigger's credentials, that the bucket can be
// listed (for the reconcile poll, and as polling checks it) and that its
// notification configuration can be read. Refusals that retrying will not
// fix wrap feed.ErrInvalidParams (400); an unreachable store is a
// *feed.SourceError (502).
func (s *NotificationsSource) Validate(ctx context.Context, t *feed.Trigger) error {
	cfg, err := notificationSettings(t)
	if err != nil {
		return err
	}
	client := NewClient(cfg.BucketConfig, t.Secret(ParamSecretKey), s.changes.client)
	in := &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket), MaxKeys: aws.Int32(1)}
	if cfg.Prefix != "" {
		in.Prefix = aws.String(cfg.Prefix)
	}
	if _, err := client.ListObjectsV2(ctx, in); err != nil {
		return validationError(cfg.BucketConfig, ClassifyError(cfg.BucketConfig, err))
	}
	if _, err := client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		return validationError(cfg.BucketConfig, classifyNotificationError(cfg.BucketConfig, "read", err))
	}
	return nil
}

func validationError(c BucketConfig, err error) error {
	var be *BucketError
	if errors.As(err, &be) && be.Permanent {
		return fmt.Errorf("%w: %w", feed.ErrInvalidParams, err)
	}
	return &feed.SourceError{Err: fmt.Errorf("check bucket %q: %w", c.Bucket, err)}
}

// classifyNotificationError is ClassifyError for a request about the
// notification configuration of the bucket (op is "read" or "write").
func classifyNotificationError(c BucketConfig, op string, err error) error {
	err = ClassifyError(c, err)
	var be *BucketError
	if !errors.As(err, &be) {
		return err
	}
	done := map[string]string{"read": "read", "write": "written"}[op]
	verb := map[string]string{"read": "Get", "write": "Put"}[op]
	if be.Code == "AccessDenied" || be.Code == "AllAccessDisabled" || be.Status == 403 || be.Status == 401 {
		be.msg = strings.Replace(be.msg, "cannot be listed", "cannot have its notification configuration "+done+" (it needs s3:"+verb+"BucketNotification)", 1)
		return be
	}
	be.msg = strings.Replace(be.msg, "cannot be listed", "cannot have its notification configuration "+done, 1)
	be.msg = strings.Replace(be.msg, "list bucket", op+" the notification configuration of bucket", 1)
	return be
}

// EntryID returns the Id of whiskfeed's notification entry for the
// destination arn: EntryPrefix and 16 hex digits of its SHA-256.
func EntryID(arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return EntryPrefix + hex.EncodeToString(sum[:8])
}

// Sync brings whiskfeed's notification entry for d in the bucket of target
// in line with triggers: it reads the configuration, replaces (or, with no
// trigger left, removes) that entry, keeps every other entry, and writes it
// back when it changed. It uses the credentials of changed, then, when they
// are refused, those of the other triggers.
func (s *NotificationsSource) Sync(ctx context.Context, target string, changed *feed.Trigger, triggers []*feed.Trigger, d feed.Destination) error {
	if d.ARN == "" {
		return fmt.Errorf("register notifications of %s: the provider has no notification ARN (parameter %q)", target, feed.ParamNotifyARN)
	}
	want, err := wantedEntry(d.ARN, triggers)
	if err != nil {
		return err
	}
	var errs []error
	tried := map[string]bool{}
	for _, t := range append([]*feed.Trigger{changed}, triggers...) {
		cfg, err := notificationSettings(t)
		if err != nil {
			return err
		}
		who := cfg.AccessKeyID + "\x00" + t.Secret(ParamSecretKey)
		if tried[who] {
			continue
		}
		tried[who] = true
		client := NewClient(cfg.BucketConfig, t.Secret(ParamSecretKey), s.changes.client)
		err = syncEntry(ctx, client, cfg.BucketConfig, EntryID(d.ARN), want)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if !refused(err) {
			break
		}
	}
	return fmt.Errorf("register destination %s (parameter %q) in bucket %q: %w", d.ARN, feed.ParamNotifyARN, bucketOf(changed), errors.Join(errs...))
}

func bucketOf(t *feed.Trigger) string {
	s, _ := notificationSettings(t)
	return s.Bucket
}

// refused reports a request refused for its credentials.
func refused(err error) bool {
	var be *BucketError
	if !errors.As(err, &be) {
		return false
	}
	switch be.Code {
	case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return true
	}
	return be.Status == 401 || be.Status == 403
}

// entry is whiskfeed's notification entry for one destination.
type entry struct {
	ARN            string
	Events         []string // sorted
	Prefix, Suffix string
}

// wantedEntry returns the entry that covers triggers, nil for none.
func wantedEntry(arn string, triggers []*feed.Trigger) (*entry, error) {
	if len(triggers) == 0 {
		return nil, nil
	}
	e := &entry{ARN: arn}
	for i, t := range triggers {
		cfg, err := notificationSettings(t)
		if err != nil {
			return nil, err
		}
		for _, ev := range cfg.Events {
			typ := EventTypeCreated
			if Status(ev) == StatusDeleted {
				typ = EventTypeRemoved
			}
			if !slices.Contains(e.Events, typ) {
				e.Events = append(e.Events, typ)
			}
		}
		if i == 0 {
			e.Prefix, e.Suffix = cfg.Prefix, cfg.Suffix
			continue
		}
		e.Prefix = sharedPrefix(e.Prefix, cfg.Prefix)
		e.Suffix = sharedSuffix(e.Suffix, cfg.Suffix)
	}
	if len(e.Events) == 0 {
		e.Events = []string{EventTypeCreated, EventTypeRemoved}
	}
	slices.Sort(e.Events)
	if !validFilterValue(e.Prefix) {
		e.Prefix = ""
	}
	if !validFilterValue(e.Suffix) {
		e.Suffix = ""
	}
	return e, nil
}

// sharedPrefix returns the longest prefix of a and b that is whole UTF-8.
func sharedPrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	for n > 0 && n < len(a) && !utf8.RuneStart(a[n]) {
		n--
	}
	return a[:n]
}

// sharedSuffix returns the longest suffix of a and b that is whole UTF-8.
func sharedSuffix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	for n > 0 && !utf8.RuneStart(a[len(a)-n]) {
		n--
	}
	return a[len(a)-n:]
}

// validFilterValue reports whether stores take v as a key filter value
// (MinIO refuses "." and ".." path segments and backslashes).
func validFilterValue(v string) bool {
	for seg := range strings.SplitSeq(v, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return utf8.ValidString(v) && !strings.Contains(v, `\`)
}

// syncEntry replaces whiskfeed's entry id in the bucket's notification
// configuration with want (removes it when want is nil), keeping every other
// entry, and writes the configuration only when it changes.
func syncEntry(ctx context.Context, client *s3.Client, c BucketConfig, id string, want *entry) error {
	out, err := client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(c.Bucket)})
	if err != nil {
		return classifyNotificationError(c, "read", err)
	}
	var queues, ours []types.QueueConfiguration
	for _, q := range out.QueueConfigurations {
		if aws.ToString(q.Id) == id {
			ours = append(ours, q)
		} else {
			queues = append(queues, q)
		}
	}
	switch {
	case want == nil && len(ours) == 0:
		return nil
	case want != nil && len(ours) == 1 && want.equal(ours[0]):
		return nil
	case want != nil:
		queues = append(queues, want.queue(id))
	}
	_, err = client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(c.Bucket),
		NotificationConfiguration: &types.NotificationConfiguration{
			QueueConfigurations:          queues,
			TopicConfigurations:          out.TopicConfigurations,
			LambdaFunctionConfigurations: out.LambdaFunctionConfigurations,
			EventBridgeConfiguration:     out.EventBridgeConfiguration,
		},
	})
	if err != nil {
		return classifyNotificationError(c, "write", err)
	}
	return nil
}

// queue returns the entry as a queue configuration with the given Id.
func (e *entry) queue(id string) types.QueueConfiguration {
	q := types.QueueConfiguration{Id: aws.String(id), QueueArn: aws.String(e.ARN)}
	for _, ev := range e.Events {
		q.Events = append(q.Events, types.Event(ev))
	}
	var rules []types.FilterRule
	if e.Prefix != "" {
		rules = append(rules, types.FilterRule{Name: types.FilterRuleNamePrefix, Value: aws.String(e.Prefix)})
	}
	if e.Suffix != "" {
		rules = append(rules, types.FilterRule{Name: types.FilterRuleNameSuffix, Value: aws.String(e.Suffix)})
	}
	if len(rules) > 0 {
		q.Filter = &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: rules}}
	}
	return q
}

// equal reports whether the stored q is the entry: same destination (stores
// may fill in the ARN's region), events and filter.
func (e *entry) equal(q types.QueueConfiguration) bool {
	if arnWithoutRegion(aws.ToString(q.QueueArn)) != arnWithoutRegion(e.ARN) {
		return false
	}
	events := make([]string, 0, len(q.Events))
	for _, ev := range q.Events {
		events = append(events, string(ev))
	}
	slices.Sort(events)
	if !slices.Equal(events, e.Events) {
		return false
	}
	var prefix, suffix string
	if q.Filter != nil && q.Filter.Key != nil {
		for _, r := range q.Filter.Key.FilterRules {
			switch strings.ToLower(string(r.Name)) {
			case "prefix":
				prefix = aws.ToString(r.Value)
			case "suffix":
				suffix = aws.ToString(r.Value)
			}
		}
	}
	return prefix == e.Prefix && suffix == e.Suffix
}

// arnWithoutRegion blanks the region field of an ARN
// (arn:partition:service:region:account:resource).
func arnWithoutRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) == 5 {
		parts[3] = ""
	}
	return strings.Join(parts, ":")
}
