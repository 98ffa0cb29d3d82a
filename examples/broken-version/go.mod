module example.com/broken-version

go 1.26
