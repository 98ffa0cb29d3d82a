module example.com/two-modules/web

go 1.26
