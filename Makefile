# Developer and CI entry points. `make demo` and `make test` work on a fresh
# Debian machine with Rust installed: `setup` installs R and the R packages.

PKG      := mmap
VERSION  := $(shell sed -n 's/^Version: //p' DESCRIPTION)
TARBALL  := $(PKG)_$(VERSION).tar.gz
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PATH := $(PATH):$(HOME)/.cargo/bin

# Debian packages the package, its tests, vignettes and benchmarks need.
APT_DEPS := r-base-dev r-cran-testthat r-cran-knitr r-cran-rmarkdown r-cran-roxygen2 \
            r-cran-bit64 r-cran-withr r-cran-bench r-cran-cli r-cran-bigmemory r-cran-ff \
            r-cran-callr r-cran-future pandoc qpdf

.PHONY: setup install test test-rust test-r check offline-check vendor bench peers demo wrappers document clean

setup:
	@missing=""; for p in $(APT_DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "setup: R and its packages are present"; fi
	@command -v cargo >/dev/null || { echo "setup: cargo not found (install Rust with rustup)"; exit 1; }

install: setup
	R CMD INSTALL --no-test-load .
	@exm=$$(Rscript -e 'cat(system.file("bin", "exm", package = "mmap"))'); \
	if [ -n "$$exm" ]; then $(SUDO) ln -sf "$$exm" /usr/local/bin/exm && echo "install: exm -> $$exm"; fi

test: install
	bash tools/test-all.sh

check: setup
	rm -f $(TARBALL)
	R CMD build .
	_R_CHECK_FORCE_SUGGESTS_=false R CMD check --as-cran --no-manual $(TARBALL)

# The built tarball must install with the network unavailable and an empty
# CARGO_HOME, as on CRAN's builders: cargo reads only src/rust/vendor.tar.xz.
# Installs into a throw-away library; uses `unshare -n` (no network at all)
# where the kernel allows it.
offline-check: setup
	rm -f $(TARBALL)
	R CMD build .
	@lib=$$(mktemp -d) && home=$$(mktemp -d) && \
	nonet=$$(unshare -n true 2>/dev/null && echo "unshare -n"); \
	echo "offline-check: installing $(TARBALL) $${nonet:+under $$nonet }with CARGO_HOME=$$home"; \
	CARGO_NET_OFFLINE=true CARGO_HOME=$$home $$nonet R CMD INSTALL -l $$lib $(TARBALL) && \
	echo "offline-check: $(TARBALL) ($$(du -k $(TARBALL) | cut -f1) KiB) installed offline"; \
	status=$$?; rm -rf $$lib $$home; exit $$status

# Refreshes src/rust/vendor.tar.xz after a dependency changed.
vendor:
	bash tools/vendor.sh

bench: install
	Rscript bench/typed.R

peers: install
	Rscript bench/peers.R

demo: install
	Rscript tools/demo.R

# Regenerate R/extendr-wrappers.R, NAMESPACE and man/ after changing exports.
wrappers:
	R CMD INSTALL --no-test-load . && Rscript tools/gen-wrappers.R
document: wrappers
	Rscript -e 'roxygen2::roxygenise(load_code = roxygen2::load_source)'

clean:
	rm -rf src/rust/target src/rust/exm/target src/rust/vendor src/rust/cargo-home src/*.o src/*.so $(PKG).Rcheck $(PKG)_*.tar.gz
