// Command psa-oracle judges Kubernetes objects with the upstream Pod Security Admission library
// (k8s.io/pod-security-admission), the second judge after the real API server.
//
// Input, one JSON object per line on stdin:
//
//	{"object": <a Pod or a workload with a pod template>, "policies": ["restricted:v1.25", ...]}
//
// Output, one JSON line per input line, in order:
//
//	{"results": [{"policy": "restricted:v1.25", "allowed": false, "reasons": [...],
//	  "details": [...], "message": "violates PodSecurity \"restricted:v1.25\": ..."}]}
//
// or {"error": "..."} for an object it cannot decode. Objects are defaulted as the API server
// defaults them before admission. The message is the one PSA's enforce mode puts in its
// rejection, built the same way.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/pod-security-admission/admission"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	appsdefaults "k8s.io/kubernetes/pkg/apis/apps/v1"
	batchdefaults "k8s.io/kubernetes/pkg/apis/batch/v1"
	coredefaults "k8s.io/kubernetes/pkg/apis/core/v1"
)

type request struct {
	Object   json.RawMessage `json:"object"`
	Policies []string        `json:"policies"`
}

type result struct {
	Policy  string   `json:"policy"`
	Allowed bool     `json:"allowed"`
	Reasons []string `json:"reasons"`
	Details []string `json:"details"`
	Message string   `json:"message,omitempty"`
}

type response struct {
	Results []result `json:"results,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func main() {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		coredefaults.RegisterDefaults, appsdefaults.RegisterDefaults, batchdefaults.RegisterDefaults,
	} {
		if err := add(scheme); err != nil {
			fail(err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fail(err)
	}

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	// One unbuffered write per verdict: a caller may read each before it sends the next.
	encoder := json.NewEncoder(os.Stdout)
	for in.Scan() {
		if err := encoder.Encode(judge(scheme, decoder, evaluator, in.Bytes())); err != nil {
			fail(err)
		}
	}
	if err := in.Err(); err != nil {
		fail(err)
	}
}

func judge(scheme *runtime.Scheme, decoder runtime.Decoder, evaluator policy.Evaluator, line []byte) response {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return response{Error: "request: " + err.Error()}
	}
	obj, _, err := decoder.Decode(req.Object, nil, nil)
	if err != nil {
		return response{Error: "object: " + err.Error()}
	}
	// The API server defaults an object before admission (a volume without a source becomes
	// an emptyDir; a hostNetwork Pod's ports get hostPorts), so PSA judges the defaulted object.
	scheme.Default(obj)
	meta, spec, err := admission.DefaultPodSpecExtractor{}.ExtractPodSpec(obj)
	if err != nil {
		return response{Error: err.Error()}
	}
	if spec == nil {
		return response{Error: "object has no pod template"}
	}
	results := make([]result, 0, len(req.Policies))
	for _, text := range req.Policies {
		lv, err := parsePolicy(text)
		if err != nil {
			return response{Error: err.Error()}
		}
		aggregate := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, meta, spec))
		r := result{Policy: lv.String(), Allowed: aggregate.Allowed,
			Reasons: aggregate.ForbiddenReasons, Details: aggregate.ForbiddenDetails}
		if !aggregate.Allowed {
			r.Message = fmt.Sprintf("violates PodSecurity %q: %s", lv.String(), aggregate.ForbiddenDetail())
		}
		results = append(results, r)
	}
	return response{Results: results}
}

// parsePolicy reads "level:version", the form PSA prints.
func parsePolicy(text string) (api.LevelVersion, error) {
	levelText, versionText, ok := strings.Cut(text, ":")
	if !ok {
		return api.LevelVersion{}, fmt.Errorf("policy %q: want level:version", text)
	}
	level, err := api.ParseLevel(levelText)
	if err != nil {
		return api.LevelVersion{}, err
	}
	version, err := api.ParseVersion(versionText)
	if err != nil {
		return api.LevelVersion{}, err
	}
	return api.LevelVersion{Level: level, Version: version}, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "psa-oracle:", err)
	os.Exit(2)
}
