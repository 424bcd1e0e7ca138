package e2e_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
)

// manifestFile is the part of manifest.yaml the deploy scenario checks.
type manifestFile struct {
	Project struct {
		Packages map[string]struct {
			Public  bool                      `yaml:"public"`
			Inputs  map[string]map[string]any `yaml:"inputs"`
			Actions map[string]struct {
				Runtime     string         `yaml:"runtime"`
				Web         any            `yaml:"web"`
				Annotations map[string]any `yaml:"annotations"`
			} `yaml:"actions"`
		} `yaml:"packages"`
	} `yaml:"project"`
}

// providerSecrets are the parameters that must never be bound to the public
// package (users can read its parameters).
var providerSecrets = []string{"couchdb_url", "couchdb_username", "couchdb_password", "encryption_key", "webhook_token"}

// testDeployUndeploy: deploying manifest.yaml creates every package and
// action it names, with the right visibility, annotations and bound inputs;
// undeploying removes them all.
func testDeployUndeploy(t *testing.T, art *artifacts) {
	st := startWhisk(t, art)
	ctx := t.Context()
	raw, err := os.ReadFile(art.manifest)
	require.NoError(t, err)
	var m manifestFile
	require.NoError(t, yaml.Unmarshal(raw, &m))

	// What the issue requires of the manifest, whatever else it grows.
	require.Contains(t, m.Project.Packages, feedPkg)
	require.Contains(t, m.Project.Packages, webPkg)
	assert.True(t, m.Project.Packages[feedPkg].Public, "%s must be public", feedPkg)
	assert.False(t, m.Project.Packages[webPkg].Public, "%s must be private", webPkg)
	assert.Contains(t, m.Project.Packages[feedPkg].Actions, "changes")
	for name, a := range m.Project.Packages[feedPkg].Actions {
		assert.Equal(t, true, a.Annotations["feed"], "%s/%s: the public package holds feed actions only", feedPkg, name)
	}
	for _, a := range []string{"lifecycle", "poll", "health"} {
		assert.Contains(t, m.Project.Packages[webPkg].Actions, a)
	}
	assert.Equal(t, "true", fmt.Sprint(m.Project.Packages[webPkg].Actions["lifecycle"].Web), "lifecycle must be a web action")

	var out bytes.Buffer
	require.NoError(t, st.deploy(ctx, art, &out), "deploy:\n%s", out.String())
	t.Logf("deploy:\n%s", out.String())

	for pkgName, mp := range m.Project.Packages {
		pq := whisk.QName{Namespace: systemNS, Name: pkgName}
		p, err := st.system.Package(ctx, pq)
		require.NoError(t, err, "package %s", pkgName)
		assert.Equal(t, mp.Public, p.Publish, "package %s: publish", pkgName)
		params := p.Parameters.Map()
		_, guestErr := st.guest.Package(ctx, pq)
		if mp.Public {
			assert.NoError(t, guestErr, "guest reads the public package %s", pkgName)
			for _, k := range providerSecrets {
				assert.NotContains(t, params, k, "public package %s binds %s", pkgName, k)
			}
		} else {
			assert.True(t, isStatus(guestErr, 403) || isStatus(guestErr, 404), "guest must not read the private package %s, got %v", pkgName, guestErr)
			for k := range mp.Inputs {
				assert.Contains(t, params, k, "package %s: input %s is bound", pkgName, k)
			}
		}
		if pkgName == webPkg {
			assert.Equal(t, st.couchURL, params["couchdb_url"], "bound couchdb_url")
			assert.Equal(t, st.db, params["couchdb_database"], "bound couchdb_database (--param override)")
			assert.Equal(t, st.encKey, params["encryption_key"], "bound encryption_key")
			assert.Equal(t, "/whisk.system/alarms", params["alarms_package"], "bound alarms_package")
		}
		listed := map[string]bool{}
		for _, e := range append(p.Actions, p.Feeds...) {
			listed[e.Name] = true
		}
		for name, ma := range mp.Actions {
			aq := whisk.QName{Namespace: systemNS, Package: pkgName, Name: name}
			a, err := st.system.Action(ctx, aq, false)
			if !assert.NoError(t, err, "action %s", aq) {
				continue
			}
			assert.True(t, listed[name], "package %s lists %s", pkgName, name)
			assert.Equal(t, ma.Runtime, a.Exec.Kind, "action %s: kind", aq)
			ann := a.Annotations
			for k, v := range ma.Annotations {
				if b, ok := v.(bool); ok {
					got, found := ann.LookupBool(k)
					assert.True(t, found && got == b, "action %s: annotation %s = %v, got %v", aq, k, b, got)
				}
			}
			web := fmt.Sprint(ma.Web)
			export, _ := ann.LookupBool("web-export")
			assert.Equal(t, web == "true" || web == "raw" || web == "yes", export, "action %s: web-export", aq)
			if _, isFeed := ma.Annotations["feed"]; isFeed {
				feedAnn, _ := ann.Lookup("feed")
				assert.Equal(t, true, feedAnn, "feed action %s: annotation feed", aq)
				assert.True(t, mp.Public, "feed action %s lives in a public package", aq)
			}
		}
	}

	out.Reset()
	require.NoError(t, deploy.Undeploy(ctx, st.deployOptions(art, &out, nil)), "undeploy:\n%s", out.String())
	t.Logf("undeploy:\n%s", out.String())
	for pkgName, mp := range m.Project.Packages {
		_, err := st.system.Package(ctx, whisk.QName{Namespace: systemNS, Name: pkgName})
		assert.True(t, whisk.IsNotFound(err), "package %s after undeploy: expected 404, got %v", pkgName, err)
		for name := range mp.Actions {
			aq := whisk.QName{Namespace: systemNS, Package: pkgName, Name: name}
			_, err := st.system.Action(ctx, aq, false)
			assert.True(t, whisk.IsNotFound(err), "action %s after undeploy: expected 404, got %v", aq, err)
		}
	}
	// The built-in alarms package is localwhisk's, not the manifest's.
	_, err = st.system.Package(ctx, whisk.QName{Namespace: systemNS, Name: "alarms"})
	assert.NoError(t, err, "undeploy must leave /whisk.system/alarms alone")
}
