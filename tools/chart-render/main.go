// Command chart-render renders a Helm chart the way `helm template` does, for tests on machines
// where no helm binary can be had. It is built on the libraries helm itself uses: Go's
// text/template and sprig (Debian: golang-go, golang-github-masterminds-sprig-dev,
// golang-gopkg-yaml.v2-dev), with helm's own functions added: include, tpl, toYaml, fromYaml,
// toJson (sprig), required, fail (sprig) and lookup (always empty: there is no cluster).
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o .work/bin/chart-render ./tools/chart-render
//	chart-render [--name slipway] [--namespace default] [-f values.yaml]... [--set a.b=c]... [--notes] CHART_DIR
//
// Values: the chart's values.yaml, then every -f file deep-merged over it in order (maps merge,
// anything else replaces, null deletes), then every --set (a dotted path; the value parsed as
// YAML). Output: every rendered template that is not blank, each as
// "---\n# Source: CHART/templates/FILE\n..."; files whose names start with "_" are only
// definitions. Like helm install and helm template, it refuses a chart that lists a dependency
// in Chart.yaml which is not under CHART_DIR/charts/, whatever the dependency's condition (helm
// checks before it evaluates conditions); it renders no subcharts, so it refuses one that is
// there too. values.schema.json is not checked here (the tests check it with ajv). --notes prints templates/NOTES.txt
// rendered instead (helm shows it after install). Errors (a failed `required` or `fail`, a
// template error) go to stderr, exit 1.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	"gopkg.in/yaml.v2"
)

type multiFlag []string

// notesOnly: render templates/NOTES.txt alone (--notes).
var notesOnly bool

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	name := flag.String("name", "slipway", "the release name")
	namespace := flag.String("namespace", "default", "the release namespace")
	flag.BoolVar(&notesOnly, "notes", false, "print templates/NOTES.txt rendered, instead of the objects")
	var valueFiles, sets multiFlag
	flag.Var(&valueFiles, "f", "a values file merged over the chart's (repeatable)")
	flag.Var(&sets, "set", "path.to.key=value, the value parsed as YAML (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: chart-render [--name N] [--namespace NS] [-f values.yaml]... [--set k=v]... CHART_DIR")
		os.Exit(2)
	}
	out, err := render(flag.Arg(0), *name, *namespace, valueFiles, sets)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", helmError(err))
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

func render(chartDir, name, namespace string, valueFiles, sets []string) (string, error) {
	chart, err := readYAMLFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	if err := checkDependencies(chartDir, chart); err != nil {
		return "", err
	}
	values, err := readYAMLFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return "", err
	}
	for _, f := range valueFiles {
		override, err := readYAMLFile(f)
		if err != nil {
			return "", err
		}
		values = mergeValues(values, override)
	}
	for _, s := range sets {
		if err := setValue(values, s); err != nil {
			return "", err
		}
	}

	chartName, _ := chart["name"].(string)
	files, err := templateFiles(filepath.Join(chartDir, "templates"))
	if err != nil {
		return "", err
	}
	tmpl := template.New(chartName).Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	// helm's functions that need the template set itself.
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := tmpl.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["required"] = func(message string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(message)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(message)
		}
		return v, nil
	}
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	tmpl.Funcs(funcs)

	names := make([]string, 0, len(files))
	for rel, text := range files {
		full := path.Join(chartName, "templates", rel)
		if _, err := tmpl.New(full).Parse(text); err != nil {
			return "", err
		}
		names = append(names, full)
	}
	sort.Strings(names)

	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": name, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart":        chartObject(chart),
		"Capabilities": capabilities{KubeVersion: kubeVersion{Version: "v1.29.0", Major: "1", Minor: "29"}, APIVersions: apiVersions{}},
	}
	var out strings.Builder
	for _, full := range names {
		if strings.HasPrefix(path.Base(full), "_") || strings.HasSuffix(full, "NOTES.txt") != notesOnly {
			continue
		}
		data := map[string]interface{}{}
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": full, "BasePath": path.Join(chartName, "templates")}
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, full, data); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if notesOnly {
			out.WriteString(strings.Trim(text, "\n") + "\n")
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", full, strings.Trim(text, "\n"))
	}
	return out.String(), nil
}

var callError = regexp.MustCompile(`(?s)^template: ([^:]+:\d+:\d+): executing .*error calling (?:fail|required): (.*)$`)

// helmError words a failed `fail` or `required` as helm does: "execution error at (FILE:LINE:COL): MESSAGE".
func helmError(err error) string {
	if m := callError.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Sprintf("execution error at (%s): %s", m[1], m[2])
	}
	return err.Error()
}

// checkDependencies refuses, as helm does (action.CheckDependencies), a chart whose Chart.yaml
// lists a dependency that is not under charts/ (a directory or a packaged .tgz), whatever its
// condition: "found in Chart.yaml, but missing in charts/ directory: NAME[, NAME]". Nothing can be
// fetched here, and this renderer does not render subcharts, so it refuses one that is there too.
func checkDependencies(chartDir string, chart map[string]interface{}) error {
	deps, _ := chart["dependencies"].([]interface{})
	var missing []string
	for _, d := range deps {
		dep, _ := d.(map[string]interface{})
		name, _ := dep["name"].(string)
		dir := filepath.Join(chartDir, "charts", name)
		archives, _ := filepath.Glob(filepath.Join(chartDir, "charts", name+"-*.tgz"))
		if _, err := os.Stat(dir); err == nil || len(archives) > 0 {
			return fmt.Errorf("dependency %q is under charts/, but this renderer does not render subcharts", name)
		}
		missing = append(missing, name)
	}
	if len(missing) > 0 {
		return fmt.Errorf("An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: %s", strings.Join(missing, ", "))
	}
	return nil
}

func templateFiles(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := ioutil.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return files, err
}

func readYAMLFile(p string) (map[string]interface{}, error) {
	b, err := ioutil.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	m, ok := normalize(raw).(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: not a mapping", p)
	}
	return m, nil
}

// normalize turns yaml.v2's map[interface{}]interface{} into map[string]interface{}, as helm's
// values are.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, val := range t {
			m[fmt.Sprint(k)] = normalize(val)
		}
		return m
	case map[string]interface{}:
		for k, val := range t {
			t[k] = normalize(val)
		}
		return t
	case []interface{}:
		for i, val := range t {
			t[i] = normalize(val)
		}
		return t
	default:
		return v
	}
}

// mergeValues merges src over dst as helm merges values files: maps recursively, anything
// else replaced, and a null in src deletes the key.
func mergeValues(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, srcIsMap := v.(map[string]interface{})
		dm, dstIsMap := dst[k].(map[string]interface{})
		if srcIsMap && dstIsMap {
			dst[k] = mergeValues(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

func setValue(values map[string]interface{}, assignment string) error {
	eq := strings.Index(assignment, "=")
	if eq <= 0 {
		return fmt.Errorf("--set %q: want path=value", assignment)
	}
	var parsed interface{}
	if err := yaml.Unmarshal([]byte(assignment[eq+1:]), &parsed); err != nil {
		return fmt.Errorf("--set %q: %v", assignment, err)
	}
	parts := strings.Split(assignment[:eq], ".")
	cur := values
	for _, part := range parts[:len(parts)-1] {
		next, ok := cur[part].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			cur[part] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = normalize(parsed)
	return nil
}

func toYAML(v interface{}) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

func fromYAML(s string) map[string]interface{} {
	var raw interface{}
	if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	m, _ := normalize(raw).(map[string]interface{})
	if m == nil {
		m = map[string]interface{}{}
	}
	return m
}

// chartObject gives Chart.yaml's fields helm's capitalised names (.Chart.Name, .Chart.Version).
func chartObject(chart map[string]interface{}) map[string]interface{} {
	c := map[string]interface{}{}
	for k, v := range chart {
		c[strings.ToUpper(k[:1])+k[1:]] = v
	}
	return c
}

type kubeVersion struct{ Version, Major, Minor string }

func (k kubeVersion) String() string { return k.Version }

type apiVersions struct{}

// Has answers true: the templates are rendered for a cluster with every API they use.
func (apiVersions) Has(string) bool { return true }

type capabilities struct {
	KubeVersion kubeVersion
	APIVersions apiVersions
}
