"""Log narratives for synthetic navigation episodes, written from simulator state.

Each narrative is a few sentences: the robot's motion, the lighting, the object, what the
simulated detector reported, the detection/stopping numbers and the contact, plus some
irrelevant log lines. Every sentence has several seeded wordings and the numbers come
from the simulator, so narratives of one cause differ in wording and share vocabulary
with other causes: clustering must read the cause, not match a fixed phrase.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_PART = {
    "body": "",
    "top": "top edge",
    "leg": "leg",
    "glass": "glass pane",
    "wall": "surface",
    "frame": "frame",
    "corner": "corner",
}


def _choose(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _opening(f: dict[str, Any], rng: np.random.Generator) -> str:
    return _choose(
        rng,
        [
            "Robot was travelling through the {place} toward {goal} at {speed_mps} m/s, heading "
            "{heading_deg} deg.",
            "At contact the base was moving at {speed_mps} m/s (commanded {start_speed_mps}) on a heading of "
            "{heading_deg} deg in the {place}.",
            "Mission to {goal}: {travelled_m} m covered in the last {clip_s} s along the {place}; speed at "
            "impact {speed_mps} m/s.",
            "Log excerpt, {place}: v={speed_mps} m/s, yaw={heading_deg} deg, yaw rate "
            "{yaw_rate_dps} deg/s at "
            "the moment of contact.",
        ],
    ).format(**f)


def _lighting(f: dict[str, Any], rng: np.random.Generator) -> str:
    return _choose(
        rng,
        [
            "Ambient light {lux} lux ({lighting}).",
            "Lighting was {lighting} (about {lux} lx).",
            "Illuminance measured at {lux} lux; camera auto-exposure settled.",
        ],
    ).format(**f)


def _noise(f: dict[str, Any], rng: np.random.Generator) -> list[str]:
    lines = [
        f"Battery {int(rng.integers(35, 98))}%, localisation covariance {rng.uniform(0.02, 0.12):.2f} m.",
        "Other objects within view: " + (", ".join(f["distractors"]) or "none") + ".",
        _choose(
            rng,
            [
                "No people were in the corridor.",
                f"A person was walking {rng.uniform(2, 6):.1f} m behind the robot.",
                "Corridor was otherwise empty.",
            ],
        ),
        f"CPU load {int(rng.integers(30, 85))}%; perception ran at {int(rng.integers(8, 16))} Hz.",
        f"Corridor width {f['corridor_width_m']} m.",
        # Configuration and sensor-health lines shared by every cause: they use the words of
        # several causes (height filter, inflation, invalid depth) without saying which one hit.
        f"Perception config: ground filter {int(rng.integers(10, 18))} cm, costmap inflation "
        f"{rng.uniform(0.1, 0.3):.2f} m, minimum obstacle width {int(rng.integers(3, 8))} cm.",
        f"Depth health over the last second: {int(rng.integers(2, 45))}% invalid pixels, "
        f"{int(rng.integers(0, 4))} replans.",
        _choose(
            rng,
            [
                "Camera exposure was stable.",
                "The camera's auto-exposure adjusted twice.",
                "Lidar and camera were time-synchronised within 5 ms.",
            ],
        ),
    ]
    picks = rng.permutation(len(lines))[: int(rng.integers(1, 4))]
    return [lines[i] for i in sorted(picks)]


def _object_and_detector(cause: str, f: dict[str, Any], rng: np.random.Generator) -> tuple[str, str]:
    w, d, h = f.get("object_size_cm", (0, 0, 0))
    g = dict(
        f,
        w=w,
        d=d,
        h=h,
        n=int(rng.integers(2, 9)),
        m=int(rng.integers(12, 26)),
        minw=int(rng.integers(4, 7)),
        thr=int(rng.integers(12, 17)),
        infl=round(float(rng.uniform(0.12, 0.2)), 2),
        lidar=round(float(rng.uniform(0.15, 0.3)), 2),
        maxh=round(float(rng.uniform(0.4, 0.6)), 2),
        dropout=int(rng.integers(70, 98)),
        last_seen=f.get("last_seen_s") or 0.0,
        invalid=int(np.clip(f.get("coverage_1s_pct", 0) * rng.uniform(0.85, 1.0), 5, 99)),
        part=_PART.get(f.get("object_part", ""), ""),
    )
    if cause == "thin_chair_legs":
        obj = [
            "Obstacle: a {object_colour} {object} with legs {leg_diameter_cm} cm thick, seat at "
            "{seat_height_m} m.",
            "A {object} ({object_colour}) stood in the lane; its metal legs are about "
            "{leg_diameter_cm} cm in "
            "diameter.",
            "Object in path: {object_colour} {object}, seat {seat_height_m} m high on slender legs "
            "({leg_diameter_cm} cm).",
        ]
        det = [
            "Depth returns on the legs were sparse: {n} points in the region of interest against a {m}-point "
            "cluster threshold, so no obstacle was confirmed.",
            "The obstacle layer only registered the seat, which sits above the bumper; the legs themselves "
            "produced {n} valid depth pixels.",
            "Costmap showed free space between the legs; the {leg_diameter_cm} cm legs are below the "
            "detector's minimum obstacle width of {minw} cm.",
        ]
    elif cause == "featureless_white_wall":
        obj = [
            "Ahead was a {junction} ending in a plain white wall with no texture or markings.",
            "The corridor ended at a blank, evenly lit white wall ({wall_colour} side walls).",
            "End of the {place}: a featureless painted wall filling {coverage_1s_pct}% of the image one "
            "second before contact.",
        ]
        det = [
            "Stereo matching confidence collapsed on the untextured surface: {invalid}% of depth pixels "
            "invalid, range reported as unknown.",
            "The depth image over the wall was mostly holes ({invalid}% invalid), so the planner treated the "
            "region as unknown but traversable.",
            "Stereo lost all features on the wall; the obstacle detector returned no surface in front of the "
            "robot.",
        ]
    elif cause == "glass_door":
        obj = [
            "Obstacle: a closed {object} ({door_width_m} m wide) across the {place}.",
            "A {object} blocked the corridor; the corridor continued visibly behind it.",
            "The path crossed a {object} that was shut.",
        ]
        det = [
            "One second before impact the depth beam read {depth_beam_1s_m} m (the space behind the pane) "
            "while the {object} was {true_range_1s_m} m away.",
            "Depth sensor looked through the pane: reported range {depth_beam_1s_m} m versus a true "
            "{true_range_1s_m} m; no obstacle cells were marked.",
            "The pane returned almost no depth; only the thin frame posts produced returns, outside the "
            "robot's lane.",
        ]
    elif cause == "narrow_gap":
        obj = [
            "The planned route threaded a {gap_width_m} m gap between a {gap_between}.",
            "Passage between a {gap_between} measured {gap_width_m} m; the robot's footprint is 0.50 m wide.",
            "The robot tried to squeeze between a {gap_between}, which left a {gap_width_m} m opening.",
        ]
        det = [
            "Both obstacles were tracked (first seen {first_seen_m} m away), but the costmap inflation of "
            "{infl} m is smaller than the robot's half-width, so the planner accepted the opening.",
            "The detector reported both sides correctly; the local planner still scored the opening as "
            "passable.",
            "Local planner checked clearance with a {infl} m radius instead of 0.25 m and marked "
            "the gap free.",
        ]
    elif cause == "low_clutter":
        obj = [
            "Obstacle on the floor: a {object_colour} {object}, only {h} cm high.",
            "A {object} ({object_colour}, {w}x{d}x{h} cm) was on the floor in the robot's lane.",
            "Floor clutter in the lane: {object}, {h} cm tall.",
        ]
        det = [
            "The obstacle detector's ground filter removes points below {thr} cm, so the {h} cm object was "
            "classified as floor.",
            "Object height {h} cm is under the {thr} cm height threshold; it left the camera's lower field "
            "of view {last_seen} s before the wheels reached it.",
            "No obstacle was reported; the object was last visible to the camera {last_seen} s before "
            "contact and was filtered out as ground.",
        ]
    elif cause == "corner_clip":
        obj = [
            "The robot was turning {turn_side} into a {opening_width_m} m opening at {turn_rate_dps} deg/s.",
            "While taking the {turn_side} turn through a {opening_width_m} m opening the robot started "
            "turning {turned_early_m} m too early.",
            "Manoeuvre: {turn_side} turn at {turn_rate_dps} deg/s around a {object}.",
        ]
        if g["last_seen"] > 0:
            det = [
                "The {object} had left the camera's field of view {last_seen} s before contact and its "
                "costmap cells had decayed.",
                "The {object} was seen earlier but fell outside the forward camera's 70 deg field of view "
                "during the turn ({last_seen} s before contact).",
            ]
        else:
            det = [
                "Only a sliver of the {object} stayed at the image edge as the robot turned; the planner's "
                "corner clearance came from a stale map.",
            ]
        det.append(
            "Contact was on the robot's {contact_point}, outside the sensor's view; the path cut the "
            "inside of the turn."
        )
    elif cause == "dark_box":
        obj = [
            "Obstacle: a {object} (near-black, {w}x{d}x{h} cm) in the lane.",
            "Dark object in the lane: {object} ({w}x{d}x{h} cm), {lux} lux on its face.",
            "Object struck: {object}, matte black finish, reflectivity about {reflectivity_pct}%.",
        ]
        det = [
            "Active depth returned {dropout}% invalid pixels on the matte black surface (IR reflectivity "
            "~{reflectivity_pct}%).",
            "The dark surface absorbed the projector pattern; the detector saw a hole in the depth image and "
            "did not flag an obstacle.",
            "Depth dropouts on the object: {dropout}% of its pixels had no range, and the planner saw free "
            "floor there.",
        ]
    elif cause == "overhang":
        obj = [
            "The route passed under a {object_colour} {object} whose top is {top_height_m} m above "
            "the floor.",
            "A {object} (top at {top_height_m} m) spanned the lane, with clear floor between its legs.",
            "Object: {object}, {object_colour}, tabletop height {top_height_m} m.",
        ]
        det = [
            "The 2-D lidar at {lidar} m and the camera at 0.50 m both saw free space under the top; the mast "
            "(0.95 m) struck its edge.",
            "Obstacle detection only checks heights up to {maxh} m, below the {top_height_m} m top, so the "
            "space under the {object} was marked free.",
            "Nothing was flagged: the legs stood wider apart than the robot and the top edge was above the "
            "camera's view at close range.",
        ]
    else:
        raise ValueError(f"no narrative templates for cause {cause!r}")
    return _choose(rng, obj).format(**g), _choose(rng, det).format(**g)


def _detection(f: dict[str, Any], rng: np.random.Generator) -> str:
    if f.get("detected_m") is None:
        return _choose(
            rng,
            [
                "No obstacle was reported before contact.",
                "The emergency-stop layer never triggered.",
                "Detector output stayed empty until the bumper closed.",
            ],
        )
    return _choose(
        rng,
        [
            "The obstacle was flagged only {detected_m} m before contact, inside the {stopping_distance_m} m "
            "stopping distance at that speed.",
            "Late detection: {detected_m} m away with a braking distance of {stopping_distance_m} m.",
        ],
    ).format(**f)


def _contact(f: dict[str, Any], rng: np.random.Generator) -> str:
    part = _PART.get(f["object_part"], "")
    target = f"the {part} of the {f['object']}" if part else f"the {f['object']}"
    if part and part in f["object"]:
        target = f"the {f['object']}"
    if f["object_part"] == "wall":
        target = "the wall"
    return _choose(
        rng,
        [
            f"Bumper contact on the {f['contact_point']} against {target}.",
            f"The robot's {f['contact_point']} struck {target}; peak force {f['impact_force_n']} N.",
            f"First contact: robot {f['contact_point']} with {target}; motors cut.",
        ],
    )


def failure_narrative(cause: str, facts: dict[str, Any], rng: np.random.Generator) -> str:
    """A log summary of one collision, worded with ``rng`` from the numbers in ``facts``."""
    obj, det = _object_and_detector(cause, facts, rng)
    middle = [obj, det, _detection(facts, rng)] if rng.random() < 0.75 else [det, _detection(facts, rng)]
    if rng.random() < 0.8:
        middle.insert(int(rng.integers(0, 2)), _lighting(facts, rng))
    if rng.random() < 0.4:
        middle[-2], middle[-1] = middle[-1], middle[-2]
    return " ".join([_opening(facts, rng), *middle, _contact(facts, rng), *_noise(facts, rng)])


def safe_narrative(facts: dict[str, Any], rng: np.random.Generator) -> str:
    """A log summary of a run without contact."""
    kind = facts["safe_kind"]
    f = dict(facts)
    if kind == "stopped_before_obstacle":
        body = _choose(
            rng,
            [
                "The detector flagged a {object_colour} {object} ahead; the robot braked from "
                "{start_speed_mps} "
                "m/s and stopped {min_clearance_m} m short of it.",
                "Obstacle ({object}) detected in the lane; controlled stop with {min_clearance_m} m "
                "to spare.",
            ],
        )
    elif kind == "through_doorway":
        body = _choose(
            rng,
            [
                "The robot turned left through a {opening_width_m} m doorway with {min_clearance_m} "
                "m clearance.",
                "Doorway ({opening_width_m} m) traversed during a left turn; closest approach "
                "{min_clearance_m} m "
                "to the {nearest_object}.",
            ],
        )
    elif kind == "through_wide_gap":
        body = _choose(
            rng,
            [
                "Passed between two cabinets through a {gap_width_m} m gap; minimum clearance "
                "{min_clearance_m} m.",
                "The planner chose a {gap_width_m} m opening between cabinets and cleared it by "
                "{min_clearance_m} m.",
            ],
        )
    else:
        body = _choose(
            rng,
            [
                "No obstacle in the lane; closest approach {min_clearance_m} m to the {nearest_object}.",
                "Nominal run; minimum clearance {min_clearance_m} m (to the {nearest_object}).",
            ],
        )
    opening = _choose(
        rng,
        [
            "Robot travelled {travelled_m} m through the {place} toward {goal} at up to "
            "{start_speed_mps} m/s.",
            "Segment of a run to {goal} along the {place}; final speed {final_speed_mps} m/s.",
        ],
    )
    parts = [opening.format(**f), body.format(**f)]
    if rng.random() < 0.8:
        parts.append(_lighting(f, rng))
    parts.append("No contact.")
    return " ".join(parts + _noise(f, rng))
