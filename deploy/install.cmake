# Run by `cmake --install` (install(CODE) of deploy/CMakeLists.txt), with the prefix given at
# install time. Writes the files that name installed paths, the paths rewritten for that
# prefix: fiable-migrate, the systemd units, the example configuration files.

# Directory on the target system (as the programs will see it) and where to write it now.
function(fiable_dir out rel)
  if(IS_ABSOLUTE "${rel}")
    set(${out} "${rel}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${rel}" PARENT_SCOPE)
  endif()
endfunction()

fiable_dir(bindir "${FIABLE_BINDIR}")
fiable_dir(libexecdir "${FIABLE_LIBEXECDIR}/fiable")
fiable_dir(pkgdatadir "${FIABLE_DATADIR}/fiable")
fiable_dir(confdir "${FIABLE_SYSCONFDIR}/fiable")
fiable_dir(docdir "${FIABLE_DOCDIR}")
fiable_dir(unitdir "${FIABLE_SYSTEMD_UNITDIR}")

# fiable_write(SRC DEST_DIR NAME MODE): copies SRC with the documented paths replaced.
function(fiable_write src destdir name mode)
  file(READ "${src}" text)
  fiable_write_text("${text}" "${destdir}" "${name}" "${mode}")
endfunction()

function(fiable_write_text text destdir name mode)
  string(REPLACE "/usr/local/libexec/fiable" "${libexecdir}" text "${text}")
  string(REPLACE "/usr/local/share/fiable" "${pkgdatadir}" text "${text}")
  string(REPLACE "/usr/local/share/doc/fiable" "${docdir}" text "${text}")
  string(REPLACE "/usr/local/bin" "${bindir}" text "${text}")
  string(REPLACE "/etc/fiable" "${confdir}" text "${text}")
  set(dest "$ENV{DESTDIR}${destdir}/${name}")
  message(STATUS "Installing (paths for this prefix): ${dest}")
  file(MAKE_DIRECTORY "$ENV{DESTDIR}${destdir}")
  file(WRITE "${dest}" "${text}")
  if(mode STREQUAL "exec")
    file(CHMOD "${dest}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
      GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  else()
    file(CHMOD "${dest}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()
endfunction()

# fiable-migrate: scripts/migrate with its default migrations directory = the installed one.
# scripts/migrate itself is unchanged (scripts/dev runs it from the source tree).
file(READ "${FIABLE_SOURCE_DIR}/scripts/migrate" text)
set(anchor "SQL_DIR=\"\$ROOT/sql\"")
string(FIND "${text}" "${anchor}" at)
if(at LESS 0)
  message(FATAL_ERROR "scripts/migrate ne contient plus la ligne ${anchor} : mettez deploy/install.cmake à jour")
endif()
string(REPLACE "${anchor}" "SQL_DIR=\"${pkgdatadir}/sql\" # installé par cmake --install" text "${text}")
string(REPLACE "(défaut : sql/ du dépôt)" "(défaut : ${pkgdatadir}/sql)" text "${text}")
string(REPLACE "scripts/migrate" "fiable-migrate" text "${text}")
fiable_write_text("${text}" "${bindir}" fiable-migrate exec)

file(GLOB units "${FIABLE_SOURCE_DIR}/deploy/systemd/*.service"
  "${FIABLE_SOURCE_DIR}/deploy/systemd/*.socket" "${FIABLE_SOURCE_DIR}/deploy/systemd/*.timer")
foreach(u IN LISTS units)
  get_filename_component(n "${u}" NAME)
  fiable_write("${u}" "${unitdir}" "${n}" file)
endforeach()

set(ex "${docdir}/examples")
fiable_write("${FIABLE_SOURCE_DIR}/deploy/fiable.env.example" "${ex}" fiable.env.example file)
fiable_write("${FIABLE_SOURCE_DIR}/deploy/fiable.env.example" "${confdir}" fiable.env.example file)
fiable_write("${FIABLE_SOURCE_DIR}/deploy/logrotate" "${ex}" logrotate file)
fiable_write("${FIABLE_SOURCE_DIR}/deploy/sysusers.conf" "${ex}" sysusers.conf file)
# The nginx site names the package's paths (/usr/share/fiable): those of this prefix instead.
# The Debian package moves it to /etc/nginx/sites-available/fiable (debian/rules).
file(READ "${FIABLE_SOURCE_DIR}/deploy/nginx/fiable" text)
string(REPLACE "/usr/share/fiable" "${pkgdatadir}" text "${text}")
fiable_write_text("${text}" "${ex}" nginx-site-fiable file)
fiable_write("${FIABLE_SOURCE_DIR}/deploy/tmpfiles.conf" "${ex}" tmpfiles.conf file)
fiable_write("${FIABLE_SOURCE_DIR}/cron/crontab.example" "${ex}" crontab.example file)
fiable_write("${FIABLE_SOURCE_DIR}/cron/prometheus-rules.example.yml" "${ex}"
  prometheus-rules.example.yml file)
fiable_write("${FIABLE_SOURCE_DIR}/deploy/pgbackrest.conf.in" "${ex}" pgbackrest.conf.in file)
