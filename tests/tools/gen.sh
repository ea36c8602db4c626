#!/usr/bin/env bash
# Generates gen/ from proto/, and deploy/crds/ and deploy/rbac/ from the kind registry and the .proto comments
# (mode "gen"), or checks that both are what generation would produce ("check").
# One script serves both so the check can never drift from the generator.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-gen}
py=.venv/bin/python
protos=(proto/jangar/v1/*.proto)
extras=(proto/google/rpc/status.proto proto/google/rpc/error_details.proto)

generate() {
  local out=$1
  mkdir -p "$out/jangar/v1"
  # grpc_tools.protoc adds its bundled google/protobuf include by itself; google/api and google/rpc come
  # from the vendored copies under proto/.
  $py -m grpc_tools.protoc -Iproto --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" "${protos[@]}"
  $py -m grpc_tools.protoc -Iproto --include_imports --descriptor_set_out="$out/jangar/v1/descriptor.pb" \
    "${protos[@]}" "${extras[@]}"
}

# deploy/ needs the comments, which only a descriptor set with source info carries; it is an input of the
# generator, not an output, so it lives in a temporary directory.
manifests() {
  local manifest_mode=$1 work
  work=$(mktemp -d)
  local protoc_sources="$work/sources.pb"
  $py -m grpc_tools.protoc -Iproto --include_source_info --descriptor_set_out="$protoc_sources" "${protos[@]}"
  local rc=0
  $py -m jangar.server.devstack.manifests "$manifest_mode" --descriptor-set "$protoc_sources" --deploy deploy \
    || rc=$?
  rm -rf "$work"
  return $rc
}

case "$mode" in
  gen)
    find gen/jangar/v1 -name '*_pb2*' -delete 2>/dev/null || true
    rm -f gen/jangar/v1/descriptor.pb
    generate gen
    touch gen/jangar/v1/__init__.py
    echo "gen/ regenerated from ${#protos[@]} proto files"
    # A new process, so that it imports the jangar.v1 just written.
    manifests gen
    ;;
  check)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    generate "$tmp"
    touch "$tmp/jangar/v1/__init__.py"
    status=0
    if ! diff -r -x __pycache__ "$tmp/jangar/v1" gen/jangar/v1 >/dev/null; then
      diff -rq -x __pycache__ "$tmp/jangar/v1" gen/jangar/v1 || true
      echo "gen/ is stale: run 'make gen' and commit the result" >&2
      status=1
    else
      echo "gen/ is up to date"
    fi
    # Reads the kinds from gen/ as committed: when gen/ is stale this may report deploy/ too.
    manifests check || status=1
    exit $status
    ;;
  *) echo "usage: $0 gen|check" >&2; exit 2 ;;
esac
