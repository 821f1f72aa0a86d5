package mgmt

import (
	"embed"
	"io/fs"
	"net/http"
)

// The built-in page: static HTML, CSS and JavaScript embedded in the
// binary, no build step and nothing fetched from elsewhere. It reads the
// same API as sgwctl: the alarms (live, through the notification stream),
// the pools with their elements and loads, the associations with their
// paths.
//
//go:embed ui
var uiFiles embed.FS

func (s *Server) uiRoutes() {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(sub))
	s.mux.Handle("GET /ui/", noStore(files))
	s.mux.Handle("GET /{$}", noStore(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, sub, "index.html")
	})))
}

// noStore keeps browsers from mixing a page and a script of two versions
// of the daemon after an upgrade.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
