// Package greet builds greetings, with language-aware title casing from golang.org/x/text.
package greet

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// Greeting returns "Hello, <Name>!" with the name title-cased by the rules of lang (a BCP 47
// tag such as "en", "nl" or "tr"). An empty name greets the world; an unknown tag falls back
// to English rules.
func Greeting(name, lang string) string {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		name = "world"
	}
	tag, err := language.Parse(lang)
	if err != nil {
		tag = language.English
	}
	return "Hello, " + cases.Title(tag).String(name) + "!"
}
