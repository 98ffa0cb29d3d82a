module example.com/wrong-arch

go 1.26
