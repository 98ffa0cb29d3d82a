package greet

import "testing"

func TestGreeting(t *testing.T) {
	tests := []struct {
		name, lang, want string
	}{
		{"", "en", "Hello, World!"},
		{"   ", "en", "Hello, World!"},
		{"gopher", "en", "Hello, Gopher!"},
		{"ada   lovelace", "en", "Hello, Ada Lovelace!"},
		{"GRACE hopper", "en", "Hello, Grace Hopper!"},
		// Dutch capitalises the "ij" digraph as one letter.
		{"ijsbrand", "nl", "Hello, IJsbrand!"},
		{"ijsbrand", "en", "Hello, Ijsbrand!"},
		// Turkish has a dotted capital I.
		{"istanbul", "tr", "Hello, İstanbul!"},
		{"gopher", "not a tag!", "Hello, Gopher!"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.lang, func(t *testing.T) {
			if got := Greeting(tt.name, tt.lang); got != tt.want {
				t.Errorf("Greeting(%q, %q) = %q, want %q", tt.name, tt.lang, got, tt.want)
			}
		})
	}
}
