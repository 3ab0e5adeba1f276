#!/usr/bin/env bash
# CI's manifest check: render every kustomize overlay, validate it, scan it.
#   1. `kubectl kustomize deploy/overlays/<env>` (kubectl's built-in kustomize, offline);
#   2. the operators' custom resources against the CRDs in deploy/crds (strict), and a broken
#      copy of them must fail, so the check is known to bite;
#   3. every built-in kind with kubernetes-validate --strict for KUBE_VERSION;
#   4. checkov on the rendered output with deploy/checkov.yaml (skips listed there with reasons),
#      and on the Dockerfile (no skips).
# The tools, pinned, go into a venv of their own under .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
KUBE_VERSION="${KUBE_VERSION:-1.32.0}"
VENV=.tools/manifest-venv
PINS="kubernetes-validate==1.37.0 checkov==3.3.30"
say() { printf '[manifests] %s\n' "$*" >&2; }
die() { printf '[manifests] FAILED: %s\n' "$*" >&2; exit 1; }

command -v kubectl >/dev/null || die "kubectl is needed (it renders the overlays with its built-in kustomize)"
stamp="$VENV/.installed-$(echo "$PINS" | sha256sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  say "installing $PINS into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q $PINS 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c "import kubernetes_validate, checkov, jsonschema" || die "tools did not install"
  rm -f "$VENV"/.installed-*; touch "$stamp"
fi

out=.run/manifests
rm -rf "$out"; mkdir -p "$out"
overlays=$(find deploy/overlays -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
[ -n "$overlays" ] || die "no overlays under deploy/overlays"
for overlay in $overlays; do
  say "$overlay: render"
  kubectl kustomize "deploy/overlays/$overlay" >"$out/$overlay.yaml" || die "$overlay does not render"

  say "$overlay: custom resources against deploy/crds"
  "$VENV/bin/python" deploy/checks/validate_custom_resources.py "$out/$overlay.yaml" --crds deploy/crds \
    --builtin-out "$out/$overlay.builtin.yaml" || die "$overlay: custom resources invalid"
  sed -e 's/^  members:/  memebrs:/' -e 's/^  replicas: \([0-9]\)$/  replicas: "\1"/' "$out/$overlay.yaml" >"$out/broken.yaml"
  if "$VENV/bin/python" deploy/checks/validate_custom_resources.py "$out/broken.yaml" --crds deploy/crds \
      --builtin-out /dev/null >"$out/broken.log" 2>&1; then
    die "the custom-resource check accepted a misspelt field: it would not catch a real mistake"
  fi

  say "$overlay: kubernetes-validate --strict (Kubernetes $KUBE_VERSION)"
  "$VENV/bin/kubernetes-validate" -k "$KUBE_VERSION" --strict --quiet "$out/$overlay.builtin.yaml" \
    deploy/crds/*.yaml >"$out/$overlay.validate.log" 2>&1 || { cat "$out/$overlay.validate.log"; die "$overlay: invalid"; }
  if grep -q . "$out/$overlay.validate.log"; then cat "$out/$overlay.validate.log"; die "$overlay: validator warnings"; fi

  say "$overlay: checkov"
  mkdir -p "$out/checkov-$overlay" && cp "$out/$overlay.yaml" "$out/checkov-$overlay/"
  BC_SKIP_MAPPING=TRUE "$VENV/bin/checkov" --config-file deploy/checkov.yaml -d "$out/checkov-$overlay" \
    >"$out/$overlay.checkov.log" 2>&1 || { cat "$out/$overlay.checkov.log"; die "$overlay: checkov found failing checks"; }
  grep -E '^(Passed|kubernetes scan results)|Passed checks' "$out/$overlay.checkov.log" | sed "s/^/[manifests] $overlay: /" >&2 || true
done
say "Dockerfile: checkov"
BC_SKIP_MAPPING=TRUE "$VENV/bin/checkov" -f Dockerfile --framework dockerfile --compact --quiet --skip-download \
  >"$out/dockerfile.checkov.log" 2>&1 || { cat "$out/dockerfile.checkov.log"; die "Dockerfile: checkov found failing checks"; }
say "all overlays render, validate and pass checkov: $(echo $overlays)"
