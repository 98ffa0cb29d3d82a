module example.com/envprobe

go 1.26
