# Instance configs. Ours lists Google's regional and multi-regional configs besides the
# emulator's own; only what both must have is compared: emulator-config, found and named.
JQ='[.instanceConfigs[] | select(.name | endswith("/emulator-config")) | .name]' \
    check GET {P}/instanceConfigs
JQ='{name, displayName}' check GET {P}/instanceConfigs/emulator-config
check GET {P}/instanceConfigs/no-such-config

# The instance the later files put their databases in ({I}).
JQ='{name, config, displayName, nodeCount, processingUnits, state}' \
    check_op POST {P}/instances '{"instanceId":"adm","instance":{"config":"{C}","displayName":"Admin diff","nodeCount":1}}'
