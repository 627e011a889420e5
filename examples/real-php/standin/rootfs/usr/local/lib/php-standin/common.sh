# Shared by the STAND-IN (Debian PHP) shims: where Debian keeps the modules and
# how one is enabled the way the official images do it.
standin_say() { echo "STAND-IN (Debian PHP): $*" >&2; }

extension_dir() { php -n -r 'echo ini_get("extension_dir");'; }

# Modules loaded already (built in, or enabled before): lowercase, one a line.
loaded_modules() { php -m | tr '[:upper:]' '[:lower:]'; }

# Prebuilt prerequisites of a Debian module (linked against them).
prerequisites() {
    case "$1" in
        redis) echo "igbinary msgpack" ;;
    esac
}

require_module() { # NAME: Debian must have built it
    if [ ! -f "$(extension_dir)/$1.so" ]; then
        standin_say "no Debian module for '$1' in $(extension_dir): this stand-in cannot compile" \
            "extensions; add its php package to the stand-in's debian.yaml"
        exit 1
    fi
}

write_ini() { # NAME: conf.d/docker-php-ext-NAME.ini as the official images write it
    case "$1" in
        opcache | zend_opcache) set -- opcache zend_extension ;;
        *) set -- "$1" extension ;;
    esac
    if loaded_modules | grep -qx -e "$1" -e "zend $1"; then
        standin_say "$1 is already loaded"
        return 0
    fi
    require_module "$1"
    printf '%s=%s\n' "$2" "$1" > "${PHP_INI_DIR:-/usr/local/etc/php}/conf.d/docker-php-ext-$1.ini"
    standin_say "enabled Debian's prebuilt $1"
}

enable_module() { # NAME: its prebuilt prerequisites first, then the module itself
    for pre in $(prerequisites "$1"); do
        if [ -f "$(extension_dir)/$pre.so" ]; then
            write_ini "$pre"
        fi
    done
    write_ini "$1"
}
