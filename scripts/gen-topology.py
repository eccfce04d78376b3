#!/usr/bin/env python3
"""Generate a synthetic Rackscope topology + templates of N node instances.

Usage: gen-topology.py [NODES] [OUT_DIR]      (defaults: 20000, ./generated-topology)

Writes OUT_DIR/topology (segmented layout: sites.yaml, datacenters/...) and
OUT_DIR/templates (device, rack and rack-component templates). The output is deterministic:
the same arguments always give the same files. Exactly NODES unique instance names are
produced, switches and storage shelves included.

Shape: about 10,000 nodes per site, 2 rooms per site, 4 aisles per room, 42U racks. Each
rack has a ToR and an InfiniBand switch at the top and is filled, by rotation, with 2U quad
chassis (slot maps), 1U twin chassis (range patterns such as cn[00001-00002]), 4U GPU servers
(single names) or 1U servers listed as lists; every 4th rack also holds a management server.
Each room ends with a standalone storage rack. Templates list the health checks of the demo's
library (config/checks/library: node_up, node_temperature, ..., rack_power) and its
metrics (node_temperature, node_power; rack_power and pdu_current on the PDUs).
Instance forms, ranges, slot maps, labels, string and {id} rack refs, room discovery and
explicit room lists are all exercised.
Python 3 standard library only.
"""

import math
import os
import sys

NODES_PER_SITE = 10_000
ROOMS_PER_SITE = 2
AISLES_PER_ROOM = 4
CITIES = [
    ("paris", "Paris, FR", 48.8566, 2.3522),
    ("lyon", "Lyon, FR", 45.7640, 4.8357),
    ("berlin", "Berlin, DE", 52.5200, 13.4050),
    ("madrid", "Madrid, ES", 40.4168, -3.7038),
    ("milan", "Milan, IT", 45.4642, 9.1900),
    ("vienna", "Vienna, AT", 48.2082, 16.3738),
]


def q(s):
    """A YAML single-quoted scalar."""
    return "'" + str(s).replace("'", "''") + "'"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# ----------------------------------------------------------------------------------------
# Templates
# ----------------------------------------------------------------------------------------

TEMPLATES = {
    "devices/server/compute.yaml": """templates:
- id: syn-2u-quad
  name: Synthetic 2U Quad (4 nodes)
  type: server
  role: compute
  u_height: 2
  layout:
    type: grid
    rows: 2
    cols: 2
    matrix:
    - [3, 4]
    - [1, 2]
  rear_layout:
    type: grid
    rows: 1
    cols: 2
    matrix:
    - [901, 902]
  rear_components:
  - {id: '901', name: Fans, type: fan}
  - {id: '902', name: PSU, type: psu}
  checks: &compute_checks
  - node_up
  - node_temperature
  - node_health
  - ipmi_sensors
  metrics: &compute_metrics
  - node_temperature
  - node_power
- id: syn-1u-twin
  name: Synthetic 1U Twin (2 nodes)
  type: server
  role: compute
  u_height: 1
  layout: {type: grid, rows: 1, cols: 2, matrix: [[1, 2]]}
  checks: *compute_checks
  metrics: *compute_metrics
- id: syn-4u-gpu
  name: Synthetic 4U GPU server
  type: server
  role: gpu
  u_height: 4
  layout: {type: grid, rows: 1, cols: 1, matrix: [[1]]}
  checks: [node_up, gpu_temperature, node_health, ipmi_sensors]
  metrics: *compute_metrics
  display_thresholds:
    temperature: {warn: 52, crit: 65}
- id: syn-1u-server
  name: Synthetic 1U server
  type: server
  role: login
  u_height: 1
  checks: [node_up, node_temperature, node_health]
""",
    "devices/network/switches.yaml": """templates:
- id: syn-tor-switch
  name: Synthetic ToR Ethernet switch
  type: switch
  u_height: 1
  checks: [node_up, switch_ports]
- id: syn-ib-switch
  name: Synthetic InfiniBand switch
  type: network
  u_height: 1
  checks: [node_up, switch_ports]
""",
    "devices/storage/shelves.yaml": """templates:
- id: syn-4u-shelf
  name: Synthetic 4U storage shelf (24 disks)
  type: storage
  storage_type: eseries
  role: stockage
  u_height: 4
  disk_layout:
    type: grid
    rows: 2
    cols: 12
    matrix:
    - [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    - [13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]
  checks: [node_up, storage_system, storage_drives]
""",
    "racks/racks.yaml": """rack_templates:
- id: syn-42u-air
  name: Synthetic 42U air-cooled rack
  u_height: 42
  checks: [rack_power]
  infrastructure:
    rack_components:
    - {template_id: syn-pdu, u_position: 1, side: left}
    - {template_id: syn-pdu, u_position: 1, side: right}
""",
    "rack_components/pdu.yaml": """rack_component_templates:
- id: syn-pdu
  name: Synthetic PDU
  type: pdu
  location: side
  u_height: 20
  checks: [pdu_current]
  metrics: [rack_power, pdu_current]
""",
}


# ----------------------------------------------------------------------------------------
# Topology
# ----------------------------------------------------------------------------------------


class Gen:
    def __init__(self, total):
        self.total = total
        self.made = 0
        self.cn = 0  # compute node counter
        self.gpu = 0
        self.mgmt = 0
        self.rack_no = 0

    def remaining(self):
        return self.total - self.made

    def take(self, n):
        n = min(n, self.remaining())
        self.made += n
        return n

    def rack(self, rack_id, name, aisle_id):
        """YAML text of one 42U rack, or None when no node is left."""
        if self.remaining() <= 0:
            return None
        kind = self.rack_no % 4
        self.rack_no += 1
        lines = [
            f"id: {rack_id}",
            f"name: {q(name)}",
            "template_id: syn-42u-air",
            "u_height: 42",
            f"aisle_id: {aisle_id}",
            "devices:",
        ]

        def device(dev_id, dev_name, template, u, instance_lines):
            lines.append(f"- id: {dev_id}")
            lines.append(f"  name: {q(dev_name)}")
            lines.append(f"  template_id: {template}")
            lines.append(f"  u_position: {u}")
            lines.append("  face: front")  # an unknown key, ignored like the reference does
            lines.extend("  " + l for l in instance_lines)

        # Devices are listed top-down (not in U order), as many real files do.
        if self.take(1):
            device(f"{rack_id}-tor", "ToR switch", "syn-tor-switch", 42, [f"instance: sw-tor-{rack_id}"])
        if self.take(1):
            device(f"{rack_id}-ib", "IB switch", "syn-ib-switch", 41, [f"instance: sw-ib-{rack_id}"])
        if self.rack_no % 4 == 1 and self.take(1):
            self.mgmt += 1
            device(f"{rack_id}-mgmt", "Management", "syn-1u-server", 40, [f"instance: [mgmt{self.mgmt:04d}]"])
        if kind in (0, 1):  # 18 quad chassis, U1..U36, slot maps
            for c in range(18):
                n = self.take(4)
                if not n:
                    break
                first = self.cn + 1
                self.cn += n
                inst = ["instance:"] + [f"  {s + 1}: cn{first + s:05d}" for s in range(n)]
                device(f"{rack_id}-c{c + 1:02d}", f"cn{first:05d}-cn{first + n - 1:05d}", "syn-2u-quad", 1 + 2 * c, inst)
        elif kind == 2:  # 36 twin chassis, U1..U36, range patterns
            for c in range(36):
                n = self.take(2)
                if not n:
                    break
                first = self.cn + 1
                self.cn += n
                if n == 2:
                    inst = [f"instance: cn[{first:05d}-{first + 1:05d}]"]
                else:
                    inst = [f"instance: cn{first:05d}"]
                device(f"{rack_id}-t{c + 1:02d}", f"cn{first:05d}-cn{first + n - 1:05d}", "syn-1u-twin", 1 + c, inst)
        else:  # 9 GPU servers (4U, single names) and 3 login-type 1U servers (a list)
            for c in range(9):
                if not self.take(1):
                    break
                self.gpu += 1
                device(f"{rack_id}-g{c + 1:02d}", f"gpu{self.gpu:04d}", "syn-4u-gpu", 1 + 4 * c, [f"instance: gpu{self.gpu:04d}"])
            for c in range(3):
                if not self.take(1):
                    break
                self.cn += 1
                device(f"{rack_id}-s{c + 1}", f"cn{self.cn:05d}", "syn-1u-server", 37 + c, [f"instance: [cn{self.cn:05d}]"])
        return "\n".join(lines) + "\n"

    def storage_rack(self, rack_id, room_id):
        if self.remaining() <= 0:
            return None
        lines = [f"id: {rack_id}", f"name: {q('Storage ' + room_id)}", "u_height: 42", "devices:"]
        for shelf in range(8):
            if not self.take(1):
                break
            lines += [
                f"- id: {rack_id}-shelf{shelf + 1}",
                f"  name: Shelf {shelf + 1}",
                "  template_id: syn-4u-shelf",
                f"  u_position: {1 + 4 * shelf}",
                f"  instance: stor-{room_id}-{shelf + 1:02d}",
                "  labels:",
                f"    tray: '{shelf:02d}'",
            ]
        return "\n".join(lines) + "\n"


def generate(total, out):
    topo = os.path.join(out, "topology")
    tpl = os.path.join(out, "templates")
    for rel, text in TEMPLATES.items():
        write(os.path.join(tpl, rel), text)

    n_sites = max(1, min(len(CITIES), math.ceil(total / NODES_PER_SITE)))
    aisles_total = n_sites * ROOMS_PER_SITE * AISLES_PER_ROOM
    avg_per_rack = 56  # rough mean over the four rack kinds, switches included
    racks_per_aisle = max(1, math.ceil(total / avg_per_rack / aisles_total))
    g = Gen(total)

    sites_yaml = ["sites:"]
    for s in range(n_sites):
        city, address, lat, lon = CITIES[s]
        site_id = f"dc-{city}"
        sites_yaml += [
            f"- id: {site_id}",
            f"  name: {q(city.capitalize() + ' datacenter')}",
            f"  description: {q('Synthetic site ' + str(s + 1))}",
            "  location:",
            f"    lat: {lat}",
            f"    lon: {lon}",
            f"    address: {q(address)}",
        ]
        room_ids = [f"{city}-hall-{r + 1}" for r in range(ROOMS_PER_SITE)]
        if s % 2 == 1:  # odd sites list their rooms, even sites rely on discovery
            sites_yaml.append("  rooms:")
            sites_yaml += [f"  - id: {rid}\n    name: {q(rid)}" for rid in room_ids]
        for r, room_id in enumerate(room_ids):
            room_dir = os.path.join(topo, "datacenters", site_id, "rooms", room_id)
            last_room = s == n_sites - 1 and r == len(room_ids) - 1
            aisles = []
            for a in range(AISLES_PER_ROOM):
                aisle_id = f"{room_id}-a{a + 1:02d}"
                last_aisle = last_room and a == AISLES_PER_ROOM - 1
                refs = []
                k = 0
                # The last aisle takes whatever is left, so exactly `total` nodes exist.
                while k < racks_per_aisle or (last_aisle and g.remaining() > 0):
                    rack_id = f"{aisle_id}-r{k + 1:02d}"
                    text = g.rack(rack_id, f"Rack {aisle_id.upper()}-{k + 1:02d}", aisle_id)
                    if text is None:
                        break
                    write(os.path.join(room_dir, "aisles", aisle_id, "racks", rack_id + ".yaml"), text)
                    refs.append(rack_id if k % 2 == 0 else "{id: " + rack_id + "}")
                    k += 1
                    if last_aisle and k >= racks_per_aisle and g.remaining() <= 8:
                        break  # leave the rest for the standalone storage rack
                if not refs:
                    continue
                aisles.append((aisle_id, f"Aisle {a + 1}"))
                write(
                    os.path.join(room_dir, "aisles", aisle_id, "aisle.yaml"),
                    f"id: {aisle_id}\nname: {q('Aisle ' + str(a + 1))}\nracks:\n"
                    + "".join(f"- {ref}\n" for ref in refs),
                )
            standalone = []
            storage_id = f"{room_id}-storage"
            text = g.storage_rack(storage_id, room_id)
            if text is not None:
                write(os.path.join(room_dir, "standalone_racks", storage_id + ".yaml"), text)
                standalone.append(storage_id)
            room_yaml = [
                f"id: {room_id}",
                f"name: {q(city.capitalize() + ' hall ' + str(r + 1))}",
                "layout:",
                "  size: {width: 40, height: 24}",
                "  grid: {enabled: true, cell: 28}",
                "  door: {side: west, label: Entrance, position: 0.25}",
                "aisles:" if aisles else "aisles: []",
            ]
            room_yaml += [f"- id: {aid}\n  name: {q(name)}" for aid, name in aisles]
            room_yaml.append("standalone_racks:" if standalone else "standalone_racks: []")
            room_yaml += [f"- {sid}" for sid in standalone]
            write(os.path.join(room_dir, "room.yaml"), "\n".join(room_yaml) + "\n")
    write(os.path.join(topo, "sites.yaml"), "\n".join(sites_yaml) + "\n")
    if g.made != total:
        sys.exit(f"internal error: generated {g.made} nodes, wanted {total}")
    return n_sites, g.rack_no


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    out = sys.argv[2] if len(sys.argv) > 2 else "generated-topology"
    if total < 1:
        sys.exit("NODES must be at least 1")
    sites, racks = generate(total, out)
    print(f"wrote {total} nodes ({sites} sites, {racks} aisle racks) to {out}/topology and {out}/templates")


if __name__ == "__main__":
    main()
