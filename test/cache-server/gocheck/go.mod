module gocheck

go 1.21

require github.com/tonistiigi/go-actions-cache v0.0.0-20240227172821-a0b64f338598

require (
	github.com/dimchansky/utfbom v1.1.1 // indirect
	github.com/golang-jwt/jwt/v4 v4.5.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	golang.org/x/sync v0.5.0 // indirect
)
