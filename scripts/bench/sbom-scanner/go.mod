module gia.local/sbom-scanner

go 1.26
