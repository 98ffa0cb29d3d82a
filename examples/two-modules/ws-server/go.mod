module example.com/two-modules/ws-server

go 1.26
