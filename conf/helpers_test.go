package conf

import (
	"encoding/json"
	"reflect"
	"testing"
)

// equalJSON reports whether got and want are deeply equal, printing both as JSON, which
// reads well, when they are not.
func equalJSON(t *testing.T, got, want any) bool {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return true
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	t.Errorf("got:\n%s\nwant:\n%s", g, w)
	return false
}
