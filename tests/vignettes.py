"""Clinical vignettes written from textbook presentations of calf pain.

Each vignette names the findings of a typical patient and what calfdx must say: the cause
that must rank first (or within the top ``within``), and whether the DVT alert must fire
(``True``), must not fire (``False``) or may do either (``None``: e.g. cellulitis, where a
DVT alert is a safe false alarm).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Vignette:
    """One textbook patient and what calfdx must say about them."""

    id: str
    story: str
    expected: str
    findings: dict[str, str] = field(default_factory=dict)
    within: int = 1
    alert: bool | None = None
    #: The setting (population) the patient is seen in: its priors apply.
    setting: str = "primary_care"


VIGNETTES = (
    Vignette(
        "post_operative_dvt",
        "Older adult a week after hip surgery, seen on the ward: gradual unilateral swollen, "
        "warm, tender calf.",
        "dvt",
        setting="post_operative",
        findings={
            "bedridden_or_major_surgery": "yes",
            "age": "65_plus",
            "onset": "gradual",
            "side": "unilateral",
            "exertion": "unrelated",
            "swelling": "yes",
            "warmth": "yes",
            "calf_tenderness": "yes",
            "recent_immobilization": "yes",
            "trauma": "no",
            "pop_sensation": "no",
        },
        # Surgery is recorded three times here: by the post-operative setting (whose DVT prior
        # already includes the surgery likelihood ratio) and by two findings about the same
        # event, which the recent_immobilization family now counts once. Without redness or
        # fever, cellulitis and DVT are then a near tie (45% and 43%): DVT must be in the top
        # two and the alert must fire; the ultrasound decides.
        within=2,
        alert=True,
    ),
    Vignette(
        "cancer_swollen_calf",
        "Patient on chemotherapy with a gradually swollen calf on one side.",
        "dvt",
        {"active_cancer": "yes", "swelling": "yes", "side": "unilateral", "onset": "gradual"},
        alert=True,
    ),
    Vignette(
        "nocturnal_cramp",
        "Older adult woken at night by a sudden, painful calf cramp; calf normal on exam.",
        "cramp",
        {
            "age": "65_plus",
            "onset": "sudden",
            "night_pain": "yes",
            "exertion": "unrelated",
            "swelling": "no",
            "warmth": "no",
            "redness": "no",
            "calf_tenderness": "no",
            "trauma": "no",
            "recent_immobilization": "no",
            "active_cancer": "no",
            "previous_dvt": "no",
        },
        alert=False,
    ),
    Vignette(
        "tennis_leg",
        "Middle-aged tennis player felt a pop in the mid-calf while lunging; bruised, tender.",
        "muscle_strain",
        {
            "age": "40_to_64",
            "onset": "sudden",
            "pop_sensation": "yes",
            "exertion": "during",
            "side": "unilateral",
            "calf_tenderness": "yes",
            "bruising": "yes",
            "trauma": "no",
            "thompson_test": "negative",
        },
    ),
    Vignette(
        "achilles_rupture",
        "Middle-aged squash player, sudden snap at the back of the heel; Thompson positive.",
        "achilles_rupture",
        {
            "age": "40_to_64",
            "onset": "sudden",
            "pop_sensation": "yes",
            "thompson_test": "positive",
            "side": "unilateral",
            "trauma": "no",
        },
    ),
    Vignette(
        "claudication",
        "Older smoker with diabetes: calf pain walking, eased by rest; weak foot pulses.",
        "pad_claudication",
        {
            "age": "65_plus",
            "smoker": "yes",
            "diabetes": "yes",
            "exertion": "during",
            "onset": "gradual",
            "pulses_diminished": "yes",
            "swelling": "no",
        },
    ),
    Vignette(
        "cellulitis",
        "Febrile patient with a red, hot, swollen calf on one side.",
        "cellulitis",
        {
            "fever": "yes",
            "redness": "yes",
            "warmth": "yes",
            "swelling": "yes",
            "side": "unilateral",
            "onset": "gradual",
            "trauma": "no",
        },
    ),
    Vignette(
        "sciatica",
        "Middle-aged adult: low back pain radiating to the calf with tingling.",
        "lumbar_radiculopathy",
        {
            "age": "40_to_64",
            "back_pain": "yes",
            "numbness": "yes",
            "side": "unilateral",
            "onset": "gradual",
            "exertion": "unrelated",
            "swelling": "no",
        },
        alert=False,
    ),
    Vignette(
        "doms",
        "Young adult, both calves sore the day after a first long hill run.",
        "doms",
        {
            "age": "18_to_39",
            "exertion": "after",
            "side": "bilateral",
            "onset": "gradual",
            "swelling": "no",
            "trauma": "no",
        },
        alert=False,
    ),
    Vignette(
        "cecs",
        "Young runner: both calves tighten and tingle at the same distance, gone at rest.",
        "chronic_exertional_compartment_syndrome",
        {
            "age": "18_to_39",
            "exertion": "during",
            "side": "bilateral",
            "onset": "gradual",
            "numbness": "yes",
            "pulses_diminished": "no",
            "night_pain": "no",
        },
    ),
    Vignette(
        "acute_compartment_syndrome",
        "Crush injury: swollen calf, sudden severe pain on passive stretch of the toes.",
        "acute_compartment_syndrome",
        {
            "trauma": "yes",
            "pain_on_passive_stretch": "yes",
            "swelling": "yes",
            "onset": "sudden",
        },
        within=2,
    ),
    Vignette(
        "baker_cyst_rupture",
        "Adult with knee arthritis: sudden pain behind the knee, then a swollen, bruised calf.",
        "baker_cyst_rupture",
        {
            "age": "40_to_64",
            "posterior_knee_pain": "yes",
            "onset": "sudden",
            "swelling": "yes",
            "side": "unilateral",
            "bruising": "yes",
        },
    ),
    Vignette(
        "superficial_thrombophlebitis",
        "Tender, red, warm cord along a superficial vein of one calf.",
        "superficial_thrombophlebitis",
        {"palpable_cord": "yes", "redness": "yes", "warmth": "yes", "side": "unilateral"},
    ),
    Vignette(
        "stress_fracture",
        "Young recruit: gradual shin and calf pain on marching, point-tender tibia.",
        "stress_fracture",
        {
            "age": "18_to_39",
            "exertion": "during",
            "bone_tenderness": "yes",
            "onset": "gradual",
            "side": "unilateral",
            "trauma": "no",
        },
    ),
    Vignette(
        "diabetic_neuropathy",
        "Older adult with diabetes: burning, tingling calves and feet at night, both sides.",
        "peripheral_neuropathy",
        {
            "age": "65_plus",
            "diabetes": "yes",
            "numbness": "yes",
            "side": "bilateral",
            "night_pain": "yes",
            "onset": "gradual",
        },
        alert=False,
    ),
    Vignette(
        "peroneal_nerve_entrapment",
        "Foot drop with numbness over the outer leg, on one side, no back pain.",
        "peroneal_nerve_entrapment",
        {
            "foot_drop": "yes",
            "numbness": "yes",
            "side": "unilateral",
            "trauma": "no",
            "back_pain": "no",
        },
    ),
    Vignette(
        "contusion",
        "Kicked in the calf at football: sudden pain, bruised and swollen, bone not tender.",
        "contusion",
        {
            "trauma": "yes",
            "bruising": "yes",
            "swelling": "yes",
            "onset": "sudden",
            "side": "unilateral",
            "bone_tenderness": "no",
        },
    ),
)
