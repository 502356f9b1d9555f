"""Triage vignettes: textbook presentations of calf pain and the level each deserves.

Written from the presentation, not from calfdx's output: each vignette records what a
clinician would note for a typical patient, in one of the settings of ``priors.csv``, and the
level a textbook or guideline gives for it, with a short reason. Source ids refer to
``priors/sources.csv``. ``tests/test_triage_vignettes.py`` reports calfdx's accuracy per level;
the table is copied into ``priors/README.md`` next to the symptom-checker figures of Semigran
et al. (BMJ 2015).

Levels: ``emergency`` (now), ``same_day`` (seen within hours), ``routine`` (booked
appointment), ``self_care`` (with safety-netting).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TriageVignette:
    """One textbook patient, the setting they are seen in, and the level they deserve."""

    id: str
    setting: str
    level: str
    story: str
    reason: str
    findings: dict[str, str] = field(default_factory=dict)


PC, ED, SPORTS, POSTOP = "primary_care", "emergency_department", "sports_clinic", "post_operative"
SUSPECTED = "suspected_dvt"

TRIAGE_VIGNETTES: tuple[TriageVignette, ...] = (
    # ---------------------------------------------------------------- emergency
    TriageVignette(
        "pc_tibial_fracture",
        PC,
        "emergency",
        "Fell from a ladder; sudden shin and calf pain, swollen, point-tender over the tibia.",
        "NICE CKS via gpraj_ottawa: immediate emergency referral when a fracture is suspected; "
        "bony tenderness after injury is the Ottawa trigger.",
        {
            "trauma": "yes",
            "onset": "sudden",
            "bone_tenderness": "yes",
            "swelling": "yes",
            "side": "unilateral",
        },
    ),
    TriageVignette(
        "ed_fibula_fracture_kick",
        ED,
        "emergency",
        "Kicked on the outer leg at football; bruised, tender directly over the fibula.",
        "gpraj_ottawa (bony tenderness after injury: X-ray; suspected fracture: emergency "
        "department); causes.csv fracture = emergency.",
        {"trauma": "yes", "bone_tenderness": "yes", "bruising": "yes", "age": "18_to_39"},
    ),
    TriageVignette(
        "ed_acs_crush",
        ED,
        "emergency",
        "Leg trapped under a car for an hour: tense swollen calf, severe pain on passive toe "
        "stretch.",
        "donaldson_acs: acute compartment syndrome is a surgical emergency; passive-stretch "
        "pain after injury is the early sign.",
        {
            "trauma": "yes",
            "pain_on_passive_stretch": "yes",
            "swelling": "yes",
            "onset": "sudden",
        },
    ),
    TriageVignette(
        "sports_exertional_acs",
        SPORTS,
        "emergency",
        "Young man after a first marathon: calf pain out of proportion that did not ease with "
        "rest, agonising on passive stretch; no injury.",
        "fraipont2003: acute compartment syndrome induced by exertion needs urgent attention; "
        "severe pain exacerbated by passive stretch that does not resolve with rest.",
        {
            "age": "18_to_39",
            "exertion": "after",
            "pain_on_passive_stretch": "yes",
            "trauma": "no",
            "calf_tenderness": "yes",
        },
    ),
    TriageVignette(
        "pc_exertional_acs_gym",
        PC,
        "emergency",
        "Calf pain that began during a hard gym session and kept worsening; severe pain on "
        "passive stretch.",
        "fraipont2003 (exertional acute compartment syndrome); donaldson_acs (pain out of "
        "proportion and on passive stretch).",
        {"exertion": "during", "pain_on_passive_stretch": "yes", "trauma": "no"},
    ),
    TriageVignette(
        "postop_acs_after_fixation",
        POSTOP,
        "emergency",
        "The evening after tibial nailing: swollen calf, pain out of proportion, worse on "
        "passive stretch.",
        "donaldson_acs and shadgan2015 (compartment syndrome after tibial fracture surgery); "
        "any pressure rise in a closed compartment.",
        {
            "pain_on_passive_stretch": "yes",
            "swelling": "yes",
            "recent_immobilization": "yes",
            "bedridden_or_major_surgery": "yes",
        },
    ),
    TriageVignette(
        "pc_acute_limb_ischaemia",
        PC,
        "emergency",
        "Older adult in atrial fibrillation: sudden severe calf pain, cold foot with absent "
        "pulses, tingling toes.",
        "nhs_highland_ali: time-critical vascular emergency; rcem_ali: the 6 Ps (pain, "
        "pulselessness, perishing cold, paraesthesia).",
        {
            "age": "65_plus",
            "onset": "sudden",
            "pulses_diminished": "yes",
            "numbness": "yes",
            "side": "unilateral",
        },
    ),
    TriageVignette(
        "ed_limb_ischaemia_paralysis",
        ED,
        "emergency",
        "Cold pulseless foot that the patient can no longer lift; onset not clear.",
        "rcem_ali: paralysis is a poor prognostic sign, an element of irreversible ischaemia.",
        {"pulses_diminished": "yes", "foot_drop": "yes", "age": "65_plus"},
    ),
    TriageVignette(
        "postop_limb_ischaemia",
        POSTOP,
        "emergency",
        "Day one after a femoral bypass: sudden pain, cool foot, pulses lost.",
        "nhs_highland_ali (acute limb ischaemia: phone the vascular surgeon now).",
        {"onset": "sudden", "pulses_diminished": "yes", "side": "unilateral"},
    ),
    TriageVignette(
        "pc_cauda_equina",
        PC,
        "emergency",
        "Low back pain with numb legs and weakness lifting both feet.",
        "bmjbp_ces: bilateral neurological deficit with back pain: immediate hospital referral.",
        {
            "back_pain": "yes",
            "numbness": "yes",
            "foot_drop": "yes",
            "side": "bilateral",
        },
    ),
    # ---------------------------------------------------------------- same day
    TriageVignette(
        "pc_dvt_cancer",
        PC,
        "same_day",
        "On chemotherapy; one calf gradually swollen and tender.",
        "nice_ng158 (Wells; ultrasound within 4 hours if likely); geersing2014 (cancer).",
        {
            "active_cancer": "yes",
            "swelling": "yes",
            "calf_tenderness": "yes",
            "side": "unilateral",
            "onset": "gradual",
        },
    ),
    TriageVignette(
        "pc_dvt_postpartum",
        PC,
        "same_day",
        "Three weeks after giving birth: painful, swollen left calf.",
        "nice_ng158: a swollen, painful leg is assessed for DVT the same day.",
        {
            "estrogen_or_pregnancy": "yes",
            "swelling": "yes",
            "calf_tenderness": "yes",
            "side": "unilateral",
            "age": "18_to_39",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "pc_dvt_long_haul",
        PC,
        "same_day",
        "After a 12-hour flight: one calf aching, swollen 3 cm more than the other.",
        "nice_ng158 (immobilisation; calf asymmetry); goodacre2005 (calf difference LR).",
        {
            "recent_immobilization": "yes",
            "calf_difference_3cm": "yes",
            "swelling": "yes",
            "side": "unilateral",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "ed_dvt_previous",
        ED,
        "same_day",
        "Previous DVT; now a warm, swollen, tender calf with pitting oedema.",
        "nice_ng158 (Wells items: previous DVT, pitting oedema, tenderness).",
        {
            "previous_dvt": "yes",
            "swelling": "yes",
            "warmth": "yes",
            "calf_tenderness": "yes",
            "pitting_oedema": "yes",
            "side": "unilateral",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "postop_dvt_hip",
        POSTOP,
        "same_day",
        "A week after hip replacement: gradual swollen, warm, tender calf.",
        "nice_ng158; vte_screening_table (DVT after arthroplasty).",
        {
            "age": "65_plus",
            "onset": "gradual",
            "swelling": "yes",
            "warmth": "yes",
            "calf_tenderness": "yes",
            "bedridden_or_major_surgery": "yes",
            "side": "unilateral",
        },
    ),
    TriageVignette(
        "sports_dvt_after_cast",
        SPORTS,
        "same_day",
        "Footballer just out of a below-knee cast: calf swollen and tender.",
        "nice_ng158 (paralysis or recent plaster immobilisation is a Wells item).",
        {
            "paralysis_or_cast": "yes",
            "swelling": "yes",
            "calf_tenderness": "yes",
            "side": "unilateral",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "pc_baker_cyst",
        PC,
        "same_day",
        "Knee osteoarthritis; sudden pain behind the knee, then a swollen calf.",
        "causes.csv: ruptured Baker's cyst is same-day (it mimics DVT, which must be excluded "
        "by ultrasound; ed_duplex_nonthrombotic).",
        {
            "age": "40_to_64",
            "posterior_knee_pain": "yes",
            "onset": "sudden",
            "swelling": "yes",
            "side": "unilateral",
        },
    ),
    TriageVignette(
        "ed_baker_cyst_bruised",
        ED,
        "same_day",
        "Sudden pain behind the knee; swollen calf with a crescent bruise at the ankle.",
        "causes.csv (same-day); japan_baker and ed_duplex_nonthrombotic (Baker's cyst among "
        "swollen legs scanned for DVT).",
        {
            "posterior_knee_pain": "yes",
            "onset": "sudden",
            "swelling": "yes",
            "bruising": "yes",
            "side": "unilateral",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "pc_cellulitis",
        PC,
        "same_day",
        "Fever and chills; a red, hot, swollen calf.",
        "rcem_cellulitis: a systemically unwell patient (Eron class II) needs urgent assessment.",
        {
            "fever": "yes",
            "redness": "yes",
            "warmth": "yes",
            "swelling": "yes",
            "side": "unilateral",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "ed_cellulitis",
        ED,
        "same_day",
        "Diabetic with a red, warm, tender calf and fever.",
        "rcem_cellulitis; bmjbp_cellulitis.",
        {
            "fever": "yes",
            "redness": "yes",
            "warmth": "yes",
            "calf_tenderness": "yes",
            "diabetes": "yes",
        },
    ),
    TriageVignette(
        "postop_wound_cellulitis",
        POSTOP,
        "same_day",
        "Five days after knee surgery: spreading redness and warmth of the calf, fever.",
        "rcem_cellulitis (systemic features); bmjbp_cellulitis_mgmt.",
        {
            "fever": "yes",
            "redness": "yes",
            "warmth": "yes",
            "swelling": "yes",
            "bedridden_or_major_surgery": "yes",
        },
    ),
    TriageVignette(
        "pc_superficial_thrombophlebitis",
        PC,
        "same_day",
        "Tender, red, hard cord along a varicose vein of the calf.",
        "statpearls_svt and geersing2018 (superficial thrombosis can extend to the deep veins); "
        "causes.csv same-day.",
        {"palpable_cord": "yes", "redness": "yes", "calf_tenderness": "yes"},
    ),
    TriageVignette(
        "pc_achilles_rupture",
        PC,
        "same_day",
        "Felt a kick at the back of the heel playing badminton; Thompson test positive.",
        "boyd2015: same-day assessment; maffulli1998 (Thompson test).",
        {
            "pop_sensation": "yes",
            "onset": "sudden",
            "thompson_test": "positive",
            "exertion": "during",
            "age": "40_to_64",
        },
    ),
    TriageVignette(
        "ed_achilles_rupture",
        ED,
        "same_day",
        "Snap at the heel when sprinting for a bus; cannot push off; Thompson positive.",
        "boyd2015 (delay over 24 hours changes treatment); maffulli1998.",
        {"thompson_test": "positive", "pop_sensation": "yes", "trauma": "no"},
    ),
    TriageVignette(
        "sports_achilles_rupture",
        SPORTS,
        "same_day",
        "Squash player: sudden snap, weak push-off, calf squeeze does not move the foot.",
        "boyd2015; maffulli1998.",
        {
            "thompson_test": "positive",
            "onset": "sudden",
            "exertion": "during",
            "age": "40_to_64",
        },
    ),
    TriageVignette(
        "pc_osteomyelitis",
        PC,
        "same_day",
        "Fever and deep, constant shin pain with point tenderness over the tibia.",
        "bmjbp_osteomyelitis; bmjbp_cellulitis_mgmt (refer when osteomyelitis is suspected).",
        {"fever": "yes", "bone_tenderness": "yes", "onset": "gradual", "trauma": "no"},
    ),
    TriageVignette(
        "pc_sciatica_foot_drop",
        PC,
        "same_day",
        "Back pain shooting into one calf with numbness and new weakness lifting the foot.",
        "cks_sciatica and nhs_lothian_spine: a motor deficit needs an early opinion.",
        {
            "back_pain": "yes",
            "numbness": "yes",
            "foot_drop": "yes",
            "side": "unilateral",
        },
    ),
    TriageVignette(
        "postop_peroneal_palsy",
        POSTOP,
        "same_day",
        "Woke from long surgery with the knee pressed on its outer side: numb outer shin and "
        "new foot drop; calf soft, not swollen, no pain on passive stretch.",
        "nhs_lothian_spine (acute foot drop: early opinion); medscape_peroneal (compression "
        "at the fibular head); compartment syndrome examined and not suggested.",
        {
            "foot_drop": "yes",
            "numbness": "yes",
            "back_pain": "no",
            "swelling": "no",
            "pain_on_passive_stretch": "no",
            "bedridden_or_major_surgery": "yes",
        },
    ),
    # ---------------------------------------------------------------- routine
    TriageVignette(
        "pc_claudication",
        PC,
        "routine",
        "Older smoker: calf pain after 200 m of walking, gone within minutes of rest.",
        "khan2006 (PAD examination); causes.csv claudication = routine.",
        {
            "age": "65_plus",
            "smoker": "yes",
            "exertion": "during",
            "onset": "gradual",
            "pulses_diminished": "yes",
            "swelling": "no",
        },
    ),
    TriageVignette(
        "pc_sciatica",
        PC,
        "routine",
        "Low back pain radiating to the calf with tingling; strength normal.",
        "cks_sciatica: no red flags, manage in primary care.",
        {
            "back_pain": "yes",
            "numbness": "yes",
            "foot_drop": "no",
            "side": "unilateral",
            "onset": "gradual",
            "exertion": "unrelated",
            "swelling": "no",
        },
    ),
    TriageVignette(
        "pc_diabetic_neuropathy",
        PC,
        "routine",
        "Diabetes for 15 years: burning, tingling feet and calves at night, both sides.",
        "dpn_diabetescare2011; causes.csv peripheral neuropathy = routine.",
        {
            "diabetes": "yes",
            "numbness": "yes",
            "side": "bilateral",
            "night_pain": "yes",
            "onset": "gradual",
            "swelling": "no",
        },
    ),
    TriageVignette(
        "pc_achilles_tendinopathy",
        PC,
        "routine",
        "Runner: months of morning stiffness and pain low in the calf above the heel.",
        "dejonge2011 (tendinopathy in general practice); causes.csv routine.",
        {
            "onset": "gradual",
            "exertion": "during",
            "age": "40_to_64",
            "swelling": "no",
            "trauma": "no",
            "thompson_test": "negative",
        },
    ),
    TriageVignette(
        "sports_tennis_leg",
        SPORTS,
        "routine",
        "Tennis player felt a pop in mid-calf when lunging; tender, bruised, Thompson negative.",
        "tennisleg2002 and tennisleg_review; causes.csv muscle strain = routine.",
        {
            "age": "40_to_64",
            "onset": "sudden",
            "pop_sensation": "yes",
            "exertion": "during",
            "calf_tenderness": "yes",
            "bruising": "yes",
            "trauma": "no",
            "thompson_test": "negative",
        },
    ),
    TriageVignette(
        "ed_tennis_leg",
        ED,
        "routine",
        "Sudden pain in mid-calf while pushing off; tender muscle, Thompson negative.",
        "tennisleg_review (acute mid-calf pain with a pop); causes.csv routine.",
        {
            "onset": "sudden",
            "pop_sensation": "yes",
            "exertion": "during",
            "calf_tenderness": "yes",
            "thompson_test": "negative",
            "trauma": "no",
            "bone_tenderness": "no",
        },
    ),
    TriageVignette(
        "sports_cecs",
        SPORTS,
        "routine",
        "Young runner: both calves tighten and tingle at the same distance, gone at rest.",
        "fraipont2003 (chronic exertional compartment syndrome: pain stops the activity and "
        "disappears quickly after rest); cecs_dutch2017.",
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
    TriageVignette(
        "sports_stress_fracture",
        SPORTS,
        "routine",
        "Recruit: shin pain building over weeks of marching, focal tenderness on the tibia.",
        "emedicinehealth_sfx; bsi_review2020; causes.csv stress fracture = routine.",
        {
            "age": "18_to_39",
            "exertion": "during",
            "bone_tenderness": "yes",
            "onset": "gradual",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "sports_achilles_tendinopathy",
        SPORTS,
        "routine",
        "Masters runner: gradual pain low in the calf, worse after rest and on running.",
        "dejonge2011; causes.csv routine.",
        {
            "age": "40_to_64",
            "onset": "gradual",
            "exertion": "during",
            "thompson_test": "negative",
            "swelling": "no",
        },
    ),
    TriageVignette(
        "sports_plantaris",
        SPORTS,
        "routine",
        "Sudden snap in the calf during push-off; Thompson negative, no bone tenderness.",
        "causes.csv plantaris rupture = routine; tennisleg2002 (plantaris among tennis-leg "
        "lesions).",
        {
            "onset": "sudden",
            "pop_sensation": "yes",
            "exertion": "during",
            "thompson_test": "negative",
            "bone_tenderness": "no",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "sports_paes",
        SPORTS,
        "routine",
        "Young athlete: calf cramping on running that stops at rest; foot pulses weaken on "
        "plantar flexion.",
        "eilp_table2014 and paes_sandbox (popliteal artery entrapment); causes.csv routine.",
        {
            "age": "18_to_39",
            "exertion": "during",
            "onset": "gradual",
            "pulses_diminished": "yes",
            "smoker": "no",
            "diabetes": "no",
        },
    ),
    TriageVignette(
        "postop_neuropathy",
        POSTOP,
        "routine",
        "Known diabetic neuropathy after day surgery: burning, numb feet and calves, both "
        "sides, at night.",
        "dpn_diabetescare2011; causes.csv routine (bilateral, no swelling: not a DVT picture).",
        {
            "diabetes": "yes",
            "numbness": "yes",
            "side": "bilateral",
            "night_pain": "yes",
            "onset": "gradual",
            "swelling": "no",
            "calf_tenderness": "no",
        },
    ),
    # ---------------------------------------------------------------- self care
    TriageVignette(
        "pc_nocturnal_cramp",
        PC,
        "self_care",
        "Older adult woken at night by a sudden calf cramp; calf normal on examination.",
        "naylor_young and alsace2016 (rest cramps); causes.csv cramp = self-care.",
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
    ),
    TriageVignette(
        "pc_doms",
        PC,
        "self_care",
        "Both calves sore the day after a first long hill run.",
        "causes.csv DOMS = self-care (peaks at 1-3 days, settles within a week).",
        {
            "age": "18_to_39",
            "exertion": "after",
            "side": "bilateral",
            "onset": "gradual",
            "swelling": "no",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "pc_contusion",
        PC,
        "self_care",
        "Kicked in the calf: bruised and swollen; bone not tender, passive stretch not painful.",
        "causes.csv contusion = self-care; gpraj_ottawa (no bony tenderness: no X-ray); "
        "donaldson_acs (passive stretch examined to exclude compartment syndrome).",
        {
            "trauma": "yes",
            "bruising": "yes",
            "swelling": "yes",
            "onset": "sudden",
            "side": "unilateral",
            "bone_tenderness": "no",
            "pain_on_passive_stretch": "no",
        },
    ),
    TriageVignette(
        "sports_doms",
        SPORTS,
        "self_care",
        "Athlete back from a break: both calves stiff and aching two days after plyometrics.",
        "causes.csv DOMS = self-care.",
        {
            "age": "18_to_39",
            "exertion": "after",
            "side": "bilateral",
            "onset": "gradual",
            "swelling": "no",
            "trauma": "no",
            "pain_on_passive_stretch": "no",
        },
    ),
    TriageVignette(
        "ed_contusion",
        ED,
        "self_care",
        "Hit by a trolley: bruised calf, bone not tender, no pain on passive stretch.",
        "causes.csv contusion = self-care; gpraj_ottawa (no X-ray without bony tenderness).",
        {
            "trauma": "yes",
            "bruising": "yes",
            "onset": "sudden",
            "bone_tenderness": "no",
            "pain_on_passive_stretch": "no",
            "swelling": "no",
        },
    ),
    TriageVignette(
        "postop_night_cramps",
        POSTOP,
        "self_care",
        "After day surgery: brief night cramps in both calves; calves normal, not swollen.",
        "naylor_young (rest cramps); causes.csv cramp = self-care.",
        {
            "night_pain": "yes",
            "onset": "sudden",
            "side": "bilateral",
            "swelling": "no",
            "calf_tenderness": "no",
            "warmth": "no",
            "exertion": "unrelated",
        },
    ),
    # ---------------------------------------------------------------- suspected DVT referrals
    TriageVignette(
        "sdvt_classic_unilateral_swelling",
        SUSPECTED,
        "same_day",
        "Referred with a swollen, tender left calf three weeks after a long-haul flight.",
        "nice_ng158: suspected DVT needs assessment and imaging within hours (same day).",
        {
            "side": "unilateral",
            "swelling": "yes",
            "calf_tenderness": "yes",
            "recent_immobilization": "yes",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "sdvt_positive_ultrasound",
        SUSPECTED,
        "same_day",
        "Referred calf pain; whole-leg ultrasound shows a thrombus in the popliteal vein.",
        "nice_ng158: confirmed proximal DVT is treated the same day.",
        {"side": "unilateral", "swelling": "yes", "ultrasound": "positive"},
    ),
    TriageVignette(
        "sdvt_exertional_compartment",
        SUSPECTED,
        "emergency",
        "Referred as 'DVT?' after a long march: tense calf, severe pain on passive stretch.",
        "fraipont2003: compartment syndrome induced by exertion needs urgent attention; "
        "severe pain on passive stretch is its defining sign.",
        {
            "exertion": "after",
            "pain_on_passive_stretch": "yes",
            "swelling": "yes",
            "trauma": "no",
        },
    ),
    TriageVignette(
        "sdvt_venous_insufficiency_excluded",
        SUSPECTED,
        "routine",
        "Older woman, both ankles swollen for months, gradual aching; D-dimer and whole-leg "
        "ultrasound negative.",
        "nice_ng158: a negative ultrasound (with a negative D-dimer) excludes DVT; chronic "
        "venous insufficiency and lymphoedema are followed up routinely (beller2020).",
        {
            "age": "65_plus",
            "side": "bilateral",
            "onset": "gradual",
            "swelling": "yes",
            "pitting_oedema": "yes",
            "d_dimer": "negative",
            "ultrasound": "negative",
            "trauma": "no",
        },
    ),
)
