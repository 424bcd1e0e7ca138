package feed

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// Provider parameters: bound to the private package by the provider
// (manifest inputs), never seen by users. The toolkit removes them before a
// source reads its parameters.
const (
	ParamCouchURL      = "couchdb_url"
	ParamCouchUser     = "couchdb_username"
	ParamCouchPassword = "couchdb_password"
	ParamCouchDatabase = "couchdb_database"
	ParamEncryptionKey = "encryption_key"
	ParamWebhookToken  = "webhook_token"
	ParamNotifyARN     = "notification_arn"
	ParamAlarms        = "alarms_package"
)

var providerParams = []string{ParamCouchURL, ParamCouchUser, ParamCouchPassword, ParamCouchDatabase,
	ParamEncryptionKey, ParamWebhookToken, ParamNotifyARN, ParamAlarms}

// DefaultDatabase is the CouchDB database used when couchdb_database is not bound.
const DefaultDatabase = "whiskfeed"

// Provider is what the private actions know about their deployment: where
// state lives, how secrets are sealed, and who they are on OpenWhisk.
type Provider struct {
	Store   *Store
	Keyring *Keyring
	// WebhookToken and NotificationARN configure the hooks pattern.
	WebhookToken    string
	NotificationARN string

	APIHost   string
	Namespace string        // the provider namespace, e.g. whisk.system
	Package   string        // the private package holding lifecycle, poll, hook
	Alarms    whisk.QName   // the alarms package; Name is set per feed (alarm, interval)
	client    *whisk.Client // the provider's own identity (provide-api-key)

	// fireVia, when set, replaces OpenWhisk for fires (Local).
	fireVia func(ctx context.Context, trigger string, payload any) (unseen bool, err error)
}

// firer returns what fires rec's trigger.
func (pr *Provider) firer(authKey string, rec *Record) (*Firer, error) {
	if pr.fireVia != nil {
		trigger := rec.Namespace + "/" + rec.Name
		return &Firer{via: func(ctx context.Context, payload any) (bool, error) { return pr.fireVia(ctx, trigger, payload) }, attempts: 3, base: time.Millisecond, max: 10 * time.Millisecond}, nil
	}
	return NewFirer(pr.APIHost, authKey, rec.Namespace, rec.Name)
}

// openProvider builds the Provider from the bound parameters and the
// activation (its name tells the provider namespace and package; its API
// key, given by the provide-api-key annotation, is the provider's).
func openProvider(ctx context.Context, params map[string]any) (*Provider, error) {
	act, _ := runtime.ActivationFrom(ctx)
	p := NewParams(params)
	couch := p.Required(ParamCouchURL, "the CouchDB URL bound to the provider package")
	user := p.String(ParamCouchUser, "")
	pass := p.Secret(ParamCouchPassword)
	db := p.String(ParamCouchDatabase, DefaultDatabase)
	keySpec := p.Secret(ParamEncryptionKey)
	if keySpec == "" {
		p.Invalid(ParamEncryptionKey, "the encryption key bound to the provider package (64 hex characters)", nil)
	}
	alarms := p.String(ParamAlarms, "/whisk.system/alarms")
	pr := &Provider{WebhookToken: p.Secret(ParamWebhookToken), NotificationARN: p.String(ParamNotifyARN, ""), APIHost: act.APIHost}
	if err := p.Err(); err != nil {
		return nil, misconfigured(err)
	}
	q, err := whisk.ParseQName(alarms)
	if err != nil || q.Namespace == "" || q.Package != "" {
		return nil, misconfigured(fmt.Errorf("parameter %q: expected a package such as /whisk.system/alarms, got %q", ParamAlarms, alarms))
	}
	pr.Alarms = whisk.QName{Namespace: q.Namespace, Package: q.Name}
	kr, err := NewKeyring(keySpec)
	if err != nil {
		return nil, misconfigured(err)
	}
	pr.Keyring = kr
	if user != "" {
		u, err := url.Parse(couch)
		if err != nil {
			return nil, misconfigured(fmt.Errorf("parameter %q: not a URL", ParamCouchURL))
		}
		u.User = url.UserPassword(user, pass)
		couch = u.String()
	}
	name, err := whisk.ParseQName(act.ActionName)
	if err == nil {
		pr.Namespace, pr.Package = name.Namespace, name.Package
	}
	if act.APIKey != "" && act.APIHost != "" {
		c, err := whisk.New(act.APIHost, act.APIKey, whisk.WithNamespace(pr.Namespace))
		if err != nil {
			return nil, misconfigured(err)
		}
		pr.client = c
	}
	st, err := OpenStore(ctx, couch, db)
	if err != nil {
		return nil, &runtime.Error{Status: 503, Message: "state store unavailable", Err: err}
	}
	pr.Store = st
	return pr, nil
}

// Close releases the provider's connections.
func (pr *Provider) Close() error { return pr.Store.Close() }

// whisk returns the provider's own OpenWhisk client.
func (pr *Provider) whisk() (*whisk.Client, error) {
	if pr.client == nil {
		return nil, misconfigured(errors.New("the action has no API key: annotate it provide-api-key: true"))
	}
	return pr.client, nil
}

// action names an action of the private package.
func (pr *Provider) action(name string) whisk.QName {
	return whisk.QName{Namespace: pr.Namespace, Package: pr.Package, Name: name}
}

func misconfigured(err error) error {
	return &runtime.Error{Status: 500, Message: "whiskfeed provider misconfigured", Err: err}
}

// stripProvider returns params without the provider's own parameters and
// the platform's __ow_* ones.
func stripProvider(params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		if strings.HasPrefix(k, "__ow_") {
			continue
		}
		out[k] = v
	}
	for _, k := range providerParams {
		delete(out, k)
	}
	return out
}
