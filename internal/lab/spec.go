package lab

// guestSpec tells the guest init what to do. The host writes it into the
// initramfs as JSON at specPath.
type guestSpec struct {
	// Modules are initramfs paths of kernel modules, in load order.
	Modules []string `json:"modules"`
	// Steps run one after another; the run's status is the first failing
	// step's, or 0.
	Steps []guestStep `json:"steps"`
	// Env is added to every step's environment.
	Env []string `json:"env"`
	// Interactive gives the first step the console as its controlling
	// terminal (siglab shell).
	Interactive bool `json:"interactive"`
	// ExitFile is the guest path where the status is written (on the shared
	// folder) for the host to read.
	ExitFile string `json:"exit_file"`
	// BinDir is put first on PATH.
	BinDir string `json:"bin_dir"`
	// Peers is the block device holding the peers image, mounted at
	// PeersRoot; empty means no image.
	Peers string `json:"peers,omitempty"`
}

type guestStep struct {
	Name string   `json:"name"`
	Dir  string   `json:"dir"`
	Argv []string `json:"argv"`
}

const (
	specPath    = "/etc/siglab/spec.json"
	guestSrc    = "/src" // where the repository is mounted in the guest
	shareTag    = "src"
	exitMarker  = "siglab: guest exit status "
	guestEnvVar = "SIGLAB_GUEST"
	peersDevice = "/dev/vda" // the first virtio disk
)

// PeersRoot is where the guest mounts the peers image.
const PeersRoot = "/peers"
