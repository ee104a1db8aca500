"""Write the demo catalog shipped with the package: ``cashier/data/demo_catalog.csv``.

The catalog is built from the hand-written tables below.  Everything that is
not written by hand (barcodes, 医保 codes, self-pay fractions, price caps,
stock) is derived from SHA-256 digests of the item code, so the output is the
same on every machine and every run.  No network, no randomness.

Run from the project root::

    .venv/bin/python tools/make_demo_catalog.py

Layout of the tables (fields separated by ``|``, blank lines ignored):

* ``WESTERN``   name|spec|unit|price|class|ATC (level 4, 5 characters)
* ``PATENT``    name|spec|unit|price|class|category of the 中成药 list (5 characters)
* ``HERBS``     name|spec|unit|price|class
* ``SERVICES``  name|spec|unit|price|class|fee category|项目规范 code (9 digits)
* ``SUPPLIES``  name|spec|unit|price|class|consumable category (2 digits)
* ``GOODS``     name|spec|unit|price            (non-insured goods, always 丙)
"""

from __future__ import annotations

import csv
import hashlib
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from cashier.services.catalog import COLUMNS

HEADER = list(COLUMNS)  # the catalog CSV contract, defined once in cashier.services.catalog

OUTPUT = Path(__file__).resolve().parent.parent / "cashier" / "data" / "demo_catalog.csv"

# --------------------------------------------------------------------------
# 西药 (西药费)
# --------------------------------------------------------------------------
WESTERN = """
阿莫西林胶囊|0.25g*24粒|盒|12.50|甲|J01CA
阿莫西林胶囊|0.5g*20粒|盒|16.80|甲|J01CA
阿莫西林克拉维酸钾片|0.375g*12片|盒|28.60|甲|J01CR
头孢克肟分散片|0.1g*6片|盒|26.80|乙|J01DD
头孢克肟胶囊|50mg*12粒|盒|22.40|乙|J01DD
头孢呋辛酯片|0.25g*12片|盒|32.50|甲|J01DC
头孢氨苄胶囊|0.25g*24粒|盒|9.80|甲|J01DB
头孢拉定胶囊|0.25g*24粒|盒|11.20|甲|J01DB
头孢丙烯分散片|0.25g*6片|盒|24.60|乙|J01DC
头孢地尼胶囊|0.1g*6粒|盒|35.80|乙|J01DD
阿奇霉素片|0.25g*6片|盒|18.50|甲|J01FA
阿奇霉素干混悬剂|0.1g*6袋|盒|21.30|甲|J01FA
克拉霉素缓释片|0.5g*6片|盒|29.90|乙|J01FA
罗红霉素胶囊|0.15g*12粒|盒|8.60|甲|J01FA
左氧氟沙星片|0.5g*4片|盒|19.80|甲|J01MA
盐酸莫西沙星片|0.4g*3片|盒|45.60|乙|J01MA
诺氟沙星胶囊|0.1g*24粒|盒|5.50|甲|J01MA
甲硝唑片|0.2g*100片|瓶|6.80|甲|P01AB
替硝唑片|0.5g*8片|盒|7.90|乙|P01AB
复方磺胺甲噁唑片|0.48g*100片|瓶|12.00|甲|J01EE
呋喃妥因肠溶片|50mg*100片|瓶|15.60|甲|J01XE
盐酸多西环素片|0.1g*10片|盒|14.20|乙|J01AA
注射用头孢曲松钠|1.0g|支|8.50|甲|J01DD
注射用青霉素钠|80万单位|支|1.20|甲|J01CE
注射用头孢呋辛钠|0.75g|支|6.80|甲|J01DC
盐酸左氧氟沙星氯化钠注射液|100ml:0.5g|瓶|18.60|乙|J01MA
硫酸庆大霉素注射液|2ml:8万单位|支|0.85|甲|J01GB
阿昔洛韦片|0.1g*24片|盒|7.50|甲|J05AB
盐酸伐昔洛韦片|0.3g*6片|盒|23.80|乙|J05AB
磷酸奥司他韦胶囊|75mg*10粒|盒|65.00|乙|J05AH
磷酸奥司他韦颗粒|15mg*10袋|盒|58.00|乙|J05AH
利巴韦林颗粒|0.1g*12袋|盒|9.60|乙|J05AP
氟康唑胶囊|50mg*6粒|盒|16.90|甲|J02AC
硝酸咪康唑乳膏|20g:0.4g|支|12.80|甲|D01AC
盐酸特比萘芬乳膏|10g:0.1g|支|13.50|乙|D01AE
盐酸特比萘芬喷雾剂|15ml:0.15g|瓶|28.00|丙|D01AE
阿昔洛韦乳膏|10g:0.3g|支|6.50|甲|D06BB
布洛芬缓释胶囊|0.3g*20粒|盒|15.80|乙|M01AE
布洛芬缓释胶囊|0.3g*10粒|盒|9.90|乙|M01AE
布洛芬混悬液|100ml:2g|瓶|22.50|甲|M01AE
布洛芬片|0.2g*24片|盒|6.20|甲|M01AE
对乙酰氨基酚片|0.5g*12片|盒|4.50|甲|N02BE
对乙酰氨基酚混悬滴剂|15ml:1.5g|瓶|19.80|甲|N02BE
双氯芬酸钠缓释片|75mg*10片|盒|12.60|乙|M01AB
双氯芬酸二乙胺乳胶剂|20g:0.2g|支|19.80|乙|M02AA
洛索洛芬钠片|60mg*20片|盒|18.90|乙|M01AE
塞来昔布胶囊|0.2g*6粒|盒|38.50|乙|M01AH
美洛昔康片|7.5mg*10片|盒|14.80|乙|M01AC
盐酸氨基葡萄糖胶囊|0.24g*40粒|盒|68.00|丙|M01AX
复方氨酚烷胺片|12片|盒|9.80|丙|N02BE
氨酚伪麻美芬片|10片|盒|11.50|丙|R05XA
酚麻美敏片|10片|盒|14.50|丙|R05XA
氨咖黄敏胶囊|12粒|盒|4.50|丙|N02BE
小儿氨酚黄那敏颗粒|10袋|盒|12.80|丙|N02BE
复方锌布颗粒|12袋|盒|15.80|丙|N02BE
阿司匹林肠溶片|100mg*30片|盒|15.50|甲|B01AC
硫酸氢氯吡格雷片|75mg*7片|盒|21.60|乙|B01AC
华法林钠片|2.5mg*60片|瓶|15.60|甲|B01AA
苯磺酸氨氯地平片|5mg*7片|盒|10.50|甲|C08CA
苯磺酸氨氯地平片|5mg*28片|盒|28.00|甲|C08CA
硝苯地平控释片|30mg*7片|盒|32.80|乙|C08CA
硝苯地平缓释片|20mg*30片|盒|12.60|甲|C08CA
非洛地平缓释片|5mg*10片|盒|16.30|乙|C08CA
厄贝沙坦片|0.15g*7片|盒|14.50|甲|C09CA
缬沙坦胶囊|80mg*7粒|盒|16.80|乙|C09CA
氯沙坦钾片|50mg*7片|盒|18.60|乙|C09CA
替米沙坦片|40mg*14片|盒|19.80|乙|C09CA
厄贝沙坦氢氯噻嗪片|0.15g:12.5mg*7片|盒|21.50|乙|C09DA
马来酸依那普利片|10mg*16片|盒|9.20|甲|C09AA
卡托普利片|25mg*100片|瓶|4.80|甲|C09AA
培哚普利叔丁胺片|4mg*10片|盒|35.60|乙|C09AA
酒石酸美托洛尔片|25mg*20片|盒|4.20|甲|C07AB
琥珀酸美托洛尔缓释片|47.5mg*7片|盒|22.80|乙|C07AB
富马酸比索洛尔片|5mg*10片|盒|13.60|乙|C07AB
氢氯噻嗪片|25mg*100片|瓶|6.50|甲|C03AA
螺内酯片|20mg*100片|瓶|8.90|甲|C03DA
呋塞米片|20mg*100片|瓶|5.80|甲|C03CA
阿托伐他汀钙片|20mg*7片|盒|14.80|乙|C10AA
阿托伐他汀钙片|10mg*14片|盒|16.20|乙|C10AA
瑞舒伐他汀钙片|10mg*7片|盒|12.90|乙|C10AA
辛伐他汀片|20mg*10片|盒|8.60|甲|C10AA
非诺贝特胶囊|0.2g*10粒|盒|19.50|乙|C10AB
单硝酸异山梨酯缓释片|40mg*24片|盒|26.40|乙|C01DA
硝酸甘油片|0.5mg*100片|瓶|9.80|甲|C01DA
地高辛片|0.25mg*100片|瓶|12.50|甲|C01AA
盐酸曲美他嗪缓释片|35mg*30片|盒|38.90|乙|C01EB
盐酸二甲双胍片|0.25g*48片|盒|6.80|甲|A10BA
盐酸二甲双胍片|0.5g*20片|盒|9.50|甲|A10BA
盐酸二甲双胍缓释片|0.5g*30片|盒|18.60|乙|A10BA
格列美脲片|2mg*15片|盒|19.80|乙|A10BB
格列齐特缓释片|30mg*30片|盒|24.50|乙|A10BB
格列吡嗪控释片|5mg*14片|盒|36.50|乙|A10BB
阿卡波糖片|50mg*30片|盒|42.80|甲|A10BF
伏格列波糖片|0.2mg*30片|盒|36.00|乙|A10BF
瑞格列奈片|1mg*30片|盒|28.60|乙|A10BX
磷酸西格列汀片|100mg*7片|盒|29.80|乙|A10BH
达格列净片|10mg*14片|盒|59.80|乙|A10BK
精蛋白生物合成人胰岛素注射液(预混30R)|3ml:300单位|支|52.00|甲|A10AD
甘精胰岛素注射液|3ml:300单位|支|178.00|乙|A10AE
门冬胰岛素注射液|3ml:300单位|支|69.80|乙|A10AB
奥美拉唑肠溶胶囊|20mg*14粒|盒|15.60|甲|A02BC
奥美拉唑肠溶胶囊|20mg*28粒|盒|26.80|甲|A02BC
雷贝拉唑钠肠溶片|10mg*7片|盒|26.50|乙|A02BC
泮托拉唑钠肠溶片|40mg*7片|盒|24.80|乙|A02BC
艾司奥美拉唑镁肠溶片|20mg*7片|盒|38.60|乙|A02BC
兰索拉唑肠溶胶囊|15mg*14粒|盒|19.90|乙|A02BC
注射用泮托拉唑钠|40mg|支|16.50|乙|A02BC
法莫替丁片|20mg*24片|盒|7.80|甲|A02BA
铝碳酸镁咀嚼片|0.5g*20片|盒|16.50|乙|A02AD
蒙脱石散|3g*10袋|盒|11.80|甲|A07BC
蒙脱石散|3g*15袋|盒|16.50|甲|A07BC
口服补液盐散(Ⅲ)|5.125g*6袋|盒|9.60|甲|A07CA
枯草杆菌二联活菌颗粒|1g*10袋|盒|26.80|乙|A07FA
双歧杆菌三联活菌胶囊|0.21g*24粒|盒|29.50|乙|A07FA
乳酸菌素片|0.4g*24片|盒|12.80|丙|A07FA
多潘立酮片|10mg*30片|盒|14.50|甲|A03FA
枸橼酸莫沙必利片|5mg*24片|盒|25.60|乙|A03FA
盐酸小檗碱片|0.1g*100片|瓶|6.50|甲|A07AX
乳果糖口服溶液|100ml:66.7g|瓶|38.50|乙|A06AD
聚乙二醇4000散|10g*10袋|盒|32.50|乙|A06AD
开塞露(含甘油)|20ml*2支|盒|3.50|甲|A06AX
颠茄片|10mg*100片|瓶|5.60|甲|A03BA
消旋山莨菪碱片|5mg*100片|瓶|6.80|甲|A03BA
匹维溴铵片|50mg*15片|盒|39.80|乙|A03AX
复方角菜酸酯栓|3.4g*6枚|盒|42.60|丙|C05AX
氯雷他定片|10mg*6片|盒|13.80|甲|R06AX
氯雷他定片|10mg*12片|盒|24.50|甲|R06AX
氯雷他定糖浆|60ml:60mg|瓶|19.60|乙|R06AX
地氯雷他定片|5mg*6片|盒|18.90|乙|R06AX
盐酸西替利嗪片|10mg*12片|盒|19.60|乙|R06AE
马来酸氯苯那敏片|4mg*100片|瓶|3.80|甲|R06AB
孟鲁司特钠咀嚼片|4mg*5片|盒|28.60|乙|R03DC
孟鲁司特钠片|10mg*5片|盒|32.80|乙|R03DC
盐酸氨溴索片|30mg*20片|盒|8.90|乙|R05CB
盐酸氨溴索口服溶液|100ml:0.6g|瓶|16.80|乙|R05CB
乙酰半胱氨酸泡腾片|0.6g*10片|盒|36.80|乙|R05CB
羧甲司坦口服溶液|10ml:0.5g*10支|盒|23.50|乙|R05CB
氢溴酸右美沙芬片|15mg*24片|盒|11.60|乙|R05DA
复方甘草片|100片|瓶|8.50|甲|R05FA
硫酸沙丁胺醇吸入气雾剂|100μg*200揿|支|26.50|甲|R03AC
吸入用布地奈德混悬液|2ml:1mg*5支|盒|68.50|乙|R03BA
吸入用异丙托溴铵溶液|2ml:0.5mg*10支|盒|45.60|乙|R03BB
布地奈德鼻喷雾剂|64μg*120喷|支|58.60|乙|R01AD
糠酸莫米松鼻喷雾剂|50μg*60揿|支|69.80|乙|R01AD
盐酸氮卓斯汀鼻喷雾剂|10ml:10mg|支|38.90|乙|R01AC
盐酸赛洛唑啉鼻用喷雾剂|10ml:5mg|支|16.50|乙|R01AA
艾司唑仑片|1mg*20片|盒|4.50|甲|N05CD
阿普唑仑片|0.4mg*20片|盒|5.20|甲|N05BA
盐酸氟桂利嗪胶囊|5mg*20粒|盒|9.80|甲|N07CA
甲钴胺片|0.5mg*20片|盒|19.80|乙|B03BA
维生素B1片|10mg*100片|瓶|2.80|甲|A11DA
维生素B6片|10mg*100片|瓶|3.20|甲|A11HA
维生素C片|0.1g*100片|瓶|3.50|甲|A11GA
维生素E软胶囊|0.1g*30粒|瓶|18.50|丙|A11HA
维生素AD滴剂|1500IU:500IU*30粒|盒|32.60|乙|A11CB
葡萄糖酸锌口服溶液|10ml*12支|盒|19.80|丙|A12CB
葡萄糖酸钙锌口服溶液|10ml*24支|盒|45.00|丙|A12AA
赖氨肌醇维B12口服溶液|100ml|瓶|28.00|丙|A11JB
牛磺酸颗粒|0.4g*12袋|盒|16.80|丙|A16AA
叶酸片|0.4mg*31片|盒|13.80|甲|B03BB
碳酸钙D3片|600mg*60片|瓶|39.80|乙|A12AX
硫酸亚铁片|0.3g*100片|瓶|6.80|甲|B03AA
多糖铁复合物胶囊|0.15g*10粒|盒|32.60|乙|B03AB
左甲状腺素钠片|50μg*100片|瓶|25.80|甲|H03AA
甲巯咪唑片|10mg*50片|盒|16.50|甲|H03BB
醋酸泼尼松片|5mg*100片|瓶|6.50|甲|H02AB
醋酸地塞米松片|0.75mg*100片|瓶|4.80|甲|H02AB
别嘌醇片|0.1g*100片|瓶|9.60|甲|M04AA
非布司他片|40mg*16片|盒|39.90|乙|M04AA
盐酸坦索罗辛缓释胶囊|0.2mg*10粒|盒|29.80|乙|G04CA
非那雄胺片|5mg*10片|盒|35.60|乙|G04CB
枸橼酸西地那非片|0.1g*5片|盒|258.00|丙|G04BE
奥利司他胶囊|0.12g*21粒|盒|168.00|丙|A08AB
米诺地尔酊|60ml:3g|瓶|98.00|丙|D11AX
红霉素软膏|10g:0.1g|支|2.50|甲|D06AX
莫匹罗星软膏|5g:0.1g|支|16.80|乙|D06AX
夫西地酸乳膏|15g:0.3g|支|22.50|乙|D06AX
丁酸氢化可的松乳膏|10g:10mg|支|14.80|甲|D07AB
糠酸莫米松乳膏|5g:5mg|支|19.60|乙|D07AC
复方醋酸地塞米松乳膏|20g:15mg|支|9.50|甲|D07XB
炉甘石洗剂|100ml|瓶|6.80|甲|D04AX
左氧氟沙星滴眼液|5ml:24.4mg|支|15.80|甲|S01AE
妥布霉素滴眼液|8ml:24mg|支|12.60|甲|S01AA
氯霉素滴眼液|8ml:20mg|支|2.80|甲|S01AA
红霉素眼膏|2g:10mg|支|1.80|甲|S01AA
玻璃酸钠滴眼液|5ml:5mg|支|32.80|乙|S01XA
妥布霉素地塞米松滴眼液|5ml|支|36.50|乙|S01CA
萘敏维滴眼液|10ml|支|15.60|丙|S01GA
氧氟沙星滴耳液|5ml:15mg|支|9.50|甲|S02AA
氯化钠注射液|250ml:2.25g|瓶|3.50|甲|B05XA
氯化钠注射液|100ml:0.9g|瓶|2.80|甲|B05XA
葡萄糖注射液|250ml:12.5g|瓶|3.60|甲|B05BA
葡萄糖氯化钠注射液|500ml|瓶|4.80|甲|B05BB
地塞米松磷酸钠注射液|1ml:5mg|支|0.80|甲|H02AB
维生素B12注射液|1ml:0.5mg|支|0.90|甲|B03BA
盐酸利多卡因注射液|5ml:0.1g|支|1.50|甲|N01BB
盐酸消旋山莨菪碱注射液|1ml:10mg|支|0.95|甲|A03BA
复方氨林巴比妥注射液|2ml|支|0.60|甲|N02BB
盐酸甲氧氯普胺注射液|1ml:10mg|支|0.75|甲|A03FA
硝酸咪康唑栓|0.2g*7粒|盒|18.60|甲|G01AF
甲硝唑阴道泡腾片|0.2g*7片|盒|9.80|甲|G01AF
克霉唑阴道片|0.5g*1片|盒|15.80|甲|G01AF
"""

# --------------------------------------------------------------------------
# 中成药 (中成药费)
# --------------------------------------------------------------------------
PATENT = """
连花清瘟胶囊|0.35g*24粒|盒|14.80|甲|A01AB
连花清瘟颗粒|6g*10袋|盒|22.80|甲|A01AB
板蓝根颗粒|10g*20袋|包|12.50|甲|A03BA
板蓝根颗粒|3g*20袋(无蔗糖)|包|16.80|甲|A03BA
感冒灵颗粒|10g*9袋|盒|13.50|乙|A01AB
感冒清热颗粒|12g*10袋|盒|16.80|甲|A01AA
小柴胡颗粒|10g*10袋|盒|15.60|甲|A01CA
双黄连口服液|10ml*10支|盒|18.90|甲|A01BA
银翘解毒片|0.52g*24片|盒|8.50|甲|A01BA
维C银翘片|24片|盒|6.50|丙|A01BA
夏桑菊颗粒|10g*20袋|包|12.80|丙|A03BA
抗病毒口服液|10ml*10支|盒|23.50|乙|A03BA
清开灵颗粒|3g*10袋|盒|14.60|甲|A03BA
蒲地蓝消炎片|0.3g*48片|盒|19.80|乙|A03BA
蓝芩口服液|10ml*12支|盒|26.80|乙|A03BA
穿心莲片|0.105g*100片|瓶|8.60|甲|A03BA
黄连上清片|0.24g*48片|盒|8.60|甲|A03AA
牛黄解毒片|0.27g*24片|盒|3.50|甲|A03AA
三黄片|0.26g*48片|盒|5.80|甲|A03AA
龙胆泻肝丸|6g*10袋|盒|12.50|甲|A03AB
防风通圣丸|6g*10袋|盒|14.80|甲|A01CA
藿香正气水|10ml*10支|盒|9.80|甲|A04CA
藿香正气软胶囊|0.45g*24粒|盒|21.60|甲|A04CA
藿香正气口服液|10ml*10支|盒|15.80|甲|A04CA
风油精|9ml|瓶|6.50|丙|A04CA
清凉油|3g|盒|3.50|丙|A04CA
葛根芩连片|0.3g*36片|盒|12.60|甲|A03CA
急支糖浆|200ml|瓶|18.90|甲|A05BA
强力枇杷露|150ml|瓶|16.80|甲|A05BA
蜜炼川贝枇杷膏|300ml|瓶|38.00|丙|A05BA
复方鲜竹沥液|20ml*6支|盒|16.50|乙|A05AA
苏黄止咳胶囊|0.45g*24粒|盒|39.80|乙|A05AB
桂龙咳喘宁胶囊|0.5g*30粒|盒|28.60|乙|A05CA
橘红颗粒|11g*10袋|盒|18.50|乙|A05AA
通宣理肺丸|6g*10丸|盒|10.80|甲|A05AB
小儿豉翘清热颗粒|2g*6袋|盒|32.80|乙|A01BA
小儿肺热咳喘口服液|10ml*6支|盒|28.50|乙|A05AA
小儿七星茶颗粒|7g*10袋|盒|16.50|乙|A13AA
健胃消食片|0.8g*32片|盒|12.80|甲|A13AA
健胃消食片|0.5g*36片(儿童)|盒|10.80|甲|A13AA
保和丸|6g*10袋|盒|12.50|甲|A13AA
香砂养胃丸|200丸(浓缩丸)|瓶|15.60|甲|A12AA
气滞胃痛颗粒|5g*9袋|盒|21.80|甲|A12AA
胃苏颗粒|5g*9袋|盒|23.80|甲|A12AA
三九胃泰颗粒|20g*6袋|盒|16.80|甲|A12AA
参苓白术散|6g*9袋|盒|19.80|甲|A08AA
补中益气丸|200丸(浓缩丸)|瓶|16.50|甲|A08AA
玉屏风颗粒|5g*15袋|盒|32.80|乙|A08AA
归脾丸|200丸(浓缩丸)|瓶|18.60|甲|A08BA
阿胶补血口服液|20ml*12支|盒|58.00|丙|A08BA
黄芪精口服液|10ml*12支|盒|32.00|丙|A08AA
六味地黄丸|200丸(浓缩丸)|瓶|18.50|甲|A08CA
六味地黄丸|9g*10丸(大蜜丸)|盒|16.80|甲|A08CA
知柏地黄丸|200丸(浓缩丸)|瓶|19.80|甲|A08CA
杞菊地黄丸|200丸(浓缩丸)|瓶|18.90|甲|A08CA
金匮肾气丸|360丸(水蜜丸)|瓶|26.80|甲|A08DA
逍遥丸|200丸(浓缩丸)|瓶|14.80|甲|A12BA
加味逍遥丸|6g*10袋|盒|19.60|甲|A12BA
天王补心丸|200丸(浓缩丸)|瓶|21.60|甲|A09AA
枣仁安神胶囊|0.45g*24粒|盒|22.80|乙|A09AA
安神补脑液|10ml*10支|盒|26.50|丙|A09AA
复方丹参滴丸|27mg*180丸|瓶|28.60|甲|A11AA
复方丹参片|0.32g*60片|瓶|8.90|甲|A11AA
速效救心丸|40mg*60粒*3瓶|盒|39.80|甲|A11AA
麝香保心丸|22.5mg*42丸|瓶|42.80|甲|A11AA
银杏叶片|9.6mg:2.4mg*24片|盒|26.80|乙|A11AB
脑心通胶囊|0.4g*48粒|盒|49.80|乙|A11AB
通心络胶囊|0.26g*30粒|盒|36.60|乙|A11AB
血塞通软胶囊|0.33g*24粒|盒|24.50|乙|A11AB
养血清脑颗粒|4g*15袋|盒|49.80|乙|A11BA
正天丸|6g*10袋|盒|32.60|甲|A14AA
珍菊降压片|0.25g*60片|瓶|12.80|甲|A14AA
消渴丸|0.25g*210丸|瓶|38.60|甲|A16AA
乌鸡白凤丸|9g*10丸(大蜜丸)|盒|35.80|甲|D01AA
益母草颗粒|15g*10袋|盒|16.80|甲|D01AA
妇科千金片|0.32g*72片|盒|28.60|甲|D02AA
坤泰胶囊|0.5g*48粒|盒|56.80|乙|D01BA
云南白药胶囊|0.25g*32粒|盒|36.80|甲|G01AA
云南白药气雾剂|85g+30g|盒|52.00|乙|G01AA
云南白药膏|6.5cm*10cm*6贴|盒|28.60|乙|G01AA
活血止痛胶囊|0.5g*48粒|盒|26.80|甲|G01AA
伤湿止痛膏|7cm*10cm*5贴|袋|6.50|甲|G02AA
正红花油|20ml|瓶|9.80|丙|G02AA
颈复康颗粒|5g*10袋|盒|26.50|乙|G02AA
仙灵骨葆胶囊|0.5g*40粒|盒|38.60|甲|G03AA
马应龙麝香痔疮膏|10g|支|12.80|甲|B03AA
京万红软膏|20g|支|16.50|甲|B02AA
湿润烧伤膏|40g|支|39.80|乙|B02AA
清咽滴丸|20mg*50丸|盒|18.60|乙|F03AA
金嗓子喉片|2g*12片|盒|12.50|丙|F03AA
西瓜霜润喉片|0.6g*24片|盒|9.80|丙|F03AA
复方草珊瑚含片|0.44g*24片|盒|8.90|丙|F03AA
"""

# --------------------------------------------------------------------------
# 中药饮片 (中药饮片费), small pre-weighed bags as sold over the counter
# --------------------------------------------------------------------------
HERBS = """
黄芪|10g(小包装饮片)|袋|1.20|乙
党参|10g(小包装饮片)|袋|2.80|乙
当归|10g(小包装饮片)|袋|2.60|乙
炒白术|10g(小包装饮片)|袋|1.50|乙
茯苓|15g(小包装饮片)|袋|1.40|乙
炙甘草|6g(小包装饮片)|袋|0.60|乙
金银花|10g(小包装饮片)|袋|4.50|乙
连翘|10g(小包装饮片)|袋|2.20|乙
菊花|10g(小包装饮片)|袋|1.80|乙
枸杞子|10g(小包装饮片)|袋|1.60|乙
陈皮|10g(小包装饮片)|袋|0.90|乙
法半夏|9g(小包装饮片)|袋|3.20|乙
川芎|10g(小包装饮片)|袋|1.30|乙
白芍|10g(小包装饮片)|袋|1.10|乙
熟地黄|15g(小包装饮片)|袋|1.70|乙
山药|15g(小包装饮片)|袋|1.90|乙
丹参|10g(小包装饮片)|袋|0.80|乙
板蓝根|15g(小包装饮片)|袋|1.00|乙
薄荷|6g(小包装饮片)|袋|0.50|乙
桔梗|10g(小包装饮片)|袋|1.20|乙
麦冬|10g(小包装饮片)|袋|3.60|乙
五味子|6g(小包装饮片)|袋|1.50|乙
黄芩|10g(小包装饮片)|袋|1.10|乙
柴胡|10g(小包装饮片)|袋|2.40|乙
葛根|15g(小包装饮片)|袋|0.90|乙
三七粉|3g*20袋|盒|86.00|丙
西洋参片|50g|瓶|128.00|丙
"""

# --------------------------------------------------------------------------
# 医疗服务项目 (no barcode, no stock)
# --------------------------------------------------------------------------
SERVICES = """
普通门诊诊察费||次|10.00|甲|诊察费|110200001
副主任医师门诊诊察费||次|20.00|甲|诊察费|110200001
主任医师门诊诊察费||次|30.00|乙|诊察费|110200001
急诊诊察费||次|15.00|甲|诊察费|110200002
中医辨证论治||次|20.00|甲|诊察费|110200005
一般诊疗费|基层医疗机构|次|10.00|甲|诊察费|110200006
血常规检查|血细胞分析(五分类)|项|20.00|甲|化验费|250101015
红细胞沉降率测定|魏氏法|项|8.00|甲|化验费|250101011
尿常规|尿液分析(十一项)|项|15.00|甲|化验费|250102035
粪便常规||项|8.00|甲|化验费|250103001
大便隐血试验|免疫法|项|10.00|甲|化验费|250103002
肝功能检测|肝功八项|项|65.00|甲|化验费|250305001
肾功能检测|肾功三项|项|45.00|甲|化验费|250307001
血脂四项||项|40.00|甲|化验费|250304001
空腹血糖测定|酶法|项|6.00|甲|化验费|250302001
快速血糖测定|指尖血|次|5.00|甲|化验费|250302003
糖化血红蛋白测定||项|60.00|乙|化验费|250302005
C反应蛋白测定|免疫比浊法|项|30.00|甲|化验费|250403019
乙肝两对半|化学发光法|项|60.00|乙|化验费|250403025
甲状腺功能三项|化学发光法|项|90.00|乙|化验费|250310001
甲型乙型流感病毒抗原检测|胶体金法|项|40.00|乙|化验费|250403070
新型冠状病毒抗原检测|胶体金法|项|15.00|乙|化验费|250403085
幽门螺杆菌碳13呼气试验||项|120.00|乙|化验费|250501038
血型鉴定|ABO+Rh(D)|项|20.00|甲|化验费|260000002
尿妊娠试验|胶体金法|项|10.00|甲|化验费|250102025
常规心电图检查|十二导联|次|25.00|甲|检查费|310701001
动态心电图|24小时|次|180.00|乙|检查费|310701008
DR胸部正位||次|65.00|甲|检查费|210102015
DR胸部正侧位||次|110.00|甲|检查费|210102015
DR腰椎正侧位||次|120.00|甲|检查费|210102015
腹部B超|肝胆胰脾|次|80.00|甲|检查费|220201001
甲状腺B超||次|60.00|甲|检查费|220201002
泌尿系彩超||次|90.00|乙|检查费|220302001
颈部血管彩超||次|150.00|乙|检查费|220600005
心脏彩超||次|200.00|乙|检查费|220600001
肺通气功能检查||次|100.00|乙|检查费|310601001
眼底检查||次|15.00|甲|检查费|310300053
视力检查||次|5.00|甲|检查费|310300001
骨密度测定|双能X线|次|80.00|丙|检查费|230500001
肌肉注射||次|3.00|甲|治疗费|120400001
静脉注射||次|6.00|甲|治疗费|120400002
皮下注射||次|3.00|甲|治疗费|120400003
皮内注射|含皮试|次|5.00|甲|治疗费|120400004
静脉输液|第一组|次|15.00|甲|治疗费|120400006
静脉输液|每增加一组|次|3.00|甲|治疗费|120400006
换药|小换药|次|12.00|甲|治疗费|120300001
换药|中换药|次|20.00|甲|治疗费|120300001
换药|大换药|次|30.00|甲|治疗费|120300001
雾化吸入|氧气驱动|次|8.00|甲|治疗费|120900001
雾化吸入|超声雾化|次|10.00|甲|治疗费|120900002
吸氧|每小时|次|5.00|甲|治疗费|120800001
清创缝合|小(≤5cm)|次|80.00|甲|治疗费|331522001
拆线||次|10.00|甲|治疗费|331522005
导尿||次|20.00|甲|治疗费|120700001
灌肠||次|30.00|乙|治疗费|121000001
普通针刺||次|25.00|乙|治疗费|430000001
拔罐|火罐|次|10.00|乙|治疗费|430000009
艾灸||次|20.00|乙|治疗费|430000016
颈椎病推拿治疗||次|45.00|乙|治疗费|450000004
健康体检|基础套餐|项|180.00|丙|其他费|
出诊费||次|30.00|丙|其他费|
中药代煎||剂|3.00|丙|其他费|
"""

# --------------------------------------------------------------------------
# 医用耗材 (卫生材料费)
# --------------------------------------------------------------------------
SUPPLIES = """
一次性使用无菌注射器|1ml 带针|支|0.50|甲|14
一次性使用无菌注射器|2ml 带针|支|0.50|甲|14
一次性使用无菌注射器|5ml 带针|支|0.60|甲|14
一次性使用无菌注射器|10ml 带针|支|0.80|甲|14
一次性使用无菌注射器|20ml 带针|支|1.20|甲|14
一次性使用输液器|带针 0.7mm|套|2.50|甲|14
一次性使用静脉输液针|0.7mm|支|0.80|甲|14
一次性使用静脉留置针|22G|支|12.00|乙|14
一次性使用采血针|28G|支|0.50|甲|14
一次性使用真空采血管|2ml EDTA-K2|支|0.80|甲|14
胰岛素笔用针头|0.25mm*5mm*7支|盒|25.00|乙|14
医用棉签|10cm*50支|包|2.50|甲|13
医用外科口罩|10只(独立包装)|包|6.50|乙|13
纱布块|8cm*10cm-8层*10片|包|3.50|甲|13
医用脱脂棉|50g|包|4.80|甲|13
医用透气胶带|1.25cm*9.1m|卷|4.50|甲|13
医用弹性绷带|10cm*4.5m|卷|6.80|乙|13
医用酒精棉片|100片|盒|8.50|乙|13
医用碘伏棉签|8cm*25支|盒|5.50|乙|13
无菌敷贴|6cm*7cm*10片|包|8.50|乙|13
一次性使用无菌导尿包|16Fr|套|18.00|乙|15
一次性使用雾化器|面罩式|套|15.00|乙|16
一次性使用鼻氧管|双腔|根|3.50|甲|16
一次性使用压舌板|独立包装|片|0.50|甲|13
创可贴|7.2cm*1.9cm*100片|盒|15.80|丙|13
医用检查手套|一次性 M号*100只|盒|35.00|丙|13
医用护理垫|60cm*90cm*10片|包|28.00|丙|13
血糖试纸|50片|盒|98.00|丙|17
"""

# --------------------------------------------------------------------------
# 非医保商品 (其他费, 丙, no 医保 code)
# --------------------------------------------------------------------------
GOODS = """
维生素C泡腾片|1g*20片(保健食品)|支|29.80
蛋白质粉|400g|罐|198.00
钙维生素D软胶囊|1.2g*60粒|瓶|68.00
多种维生素矿物质片|1.36g*60片|瓶|89.00
鱼油软胶囊|1g*100粒|瓶|128.00
褪黑素维生素B6片|0.3g*60片|瓶|58.00
抑菌洗手液|500ml|瓶|19.90
免洗手消毒凝胶|100ml|瓶|12.80
75%酒精消毒液|500ml|瓶|9.90
84消毒液|500ml|瓶|6.50
碘伏消毒液|100ml|瓶|5.50
电子体温计|腋下式|个|19.80
玻璃体温计|腋下式|个|5.50
红外额温枪|非接触式|个|128.00
电子血压计|上臂式|台|268.00
血糖仪|含10片试纸|台|168.00
医用退热贴|儿童型*4贴|盒|18.50
暖宝宝|10片|袋|9.90
一次性口罩|民用*50只|盒|15.90
KN95防护口罩|10只|盒|25.00
隐形眼镜护理液|360ml|瓶|45.00
润唇膏|4g|支|15.80
护手霜|50g|支|12.50
驱蚊花露水|195ml|瓶|16.80
避孕套|12只|盒|39.90
早早孕检测试纸|1条|盒|9.90
排卵检测试纸|10条|盒|29.90
艾条|18mm*200mm*10支|盒|25.00
手杖|铝合金 可调节|个|68.00
蜂蜜|500g|瓶|38.00
胎菊花茶|50g|罐|25.00
家用压缩式雾化器|成人儿童通用|台|259.00
洗鼻器|300ml|个|35.00
洗鼻盐|2.7g*30袋|盒|25.00
漱口水|500ml|瓶|29.90
婴儿湿巾|80抽|包|12.90
饮用天然矿泉水|550ml|瓶|2.00
口服葡萄糖|500g|袋|9.50
弹力护膝|M号|副|45.00
指夹式血氧仪|含电池|个|99.00
七天分装药盒|21格|个|9.90
棉柔巾|100抽|包|12.80
红糖姜茶|12g*12袋|盒|19.90
益生菌固体饮料|2g*20袋|盒|98.00
芦荟胶|100g|支|19.80
蒸汽眼罩|5片|盒|29.90
"""

# Dosage-form part of a western-drug 医保 code, matched on the end of the name.
DOSAGE_FORMS = [
    ("注射用", "X003"),
    ("注射液", "B002"),
    ("缓释胶囊", "A012"),
    ("肠溶胶囊", "A014"),
    ("软胶囊", "A013"),
    ("胶囊", "A002"),
    ("分散片", "A009"),
    ("缓释片", "A010"),
    ("控释片", "A011"),
    ("肠溶片", "A006"),
    ("咀嚼片", "A008"),
    ("泡腾片", "A007"),
    ("阴道片", "E003"),
    ("阴道泡腾片", "E004"),
    ("片", "A001"),
    ("干混悬剂", "D004"),
    ("颗粒", "D001"),
    ("散", "D002"),
    ("混悬液", "C005"),
    ("混悬滴剂", "C006"),
    ("口服溶液", "C001"),
    ("糖浆", "C003"),
    ("滴剂", "C007"),
    ("吸入用", "F002"),
    ("气雾剂", "F001"),
    ("喷雾剂", "F003"),
    ("滴眼液", "G001"),
    ("眼膏", "G002"),
    ("滴耳液", "G003"),
    ("乳膏", "H001"),
    ("软膏", "H002"),
    ("乳胶剂", "H003"),
    ("洗剂", "H004"),
    ("酊", "H005"),
    ("栓", "E001"),
    ("露", "C009"),
]

LIST_CLASSES = ("甲", "乙", "丙")
SELFPAY_B = ("0.05", "0.10", "0.10", "0.10", "0.15", "0.20", "0.20", "0.30")
CENT = Decimal("0.01")
# Y00001 阿莫西林胶囊 (拼音 initials AMXLJN) is pinned for tests and docs.
PINNED_BARCODES = {"Y00001": "6901234567892"}


def digest(*parts: str) -> int:
    """A stable integer from the given strings (SHA-256, big-endian)."""
    data = "\x1f".join(parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(data).digest(), "big")


def digits(n: int, *parts: str) -> str:
    """``n`` stable decimal digits derived from ``parts``."""
    return str(digest(*parts) % 10**n).zfill(n)


def gtin13_check(body12: str) -> str:
    """The GTIN-13 check digit for a 12-digit body."""
    if len(body12) != 12 or not body12.isdigit():
        raise ValueError(f"not a 12-digit GTIN body: {body12!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return str((10 - total % 10) % 10)


def parse_table(text: str, width: int) -> list[list[str]]:
    rows = []
    for line in text.strip().splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != width:
            raise ValueError(f"expected {width} fields, got {len(fields)}: {line!r}")
        rows.append([f.strip() for f in fields])
    return rows


def money(text: str) -> str:
    value = Decimal(text).quantize(CENT)
    if not Decimal("0.50") <= value <= Decimal("300.00"):
        raise ValueError(f"unrealistic price {text}")
    return f"{value:.2f}"


def dosage_form(name: str) -> str:
    base = name.split("(")[0]
    if base.startswith("注射用"):
        return "X003"
    if base.startswith("吸入用"):
        return "F002"
    best = ""
    code = "Z999"
    for suffix, form in DOSAGE_FORMS:
        if base.endswith(suffix) and len(suffix) > len(best):
            best, code = suffix, form
    return code


def generic_name(name: str) -> str:
    base = name.split("(")[0]
    for prefix in ("注射用", "吸入用"):
        base = base.removeprefix(prefix)
    best = ""
    for suffix, _ in DOSAGE_FORMS:
        if base.endswith(suffix) and len(suffix) > len(best):
            best = suffix
    return base[: len(base) - len(best)] if best else base


class Builder:
    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []
        self.barcodes: set[str] = set(PINNED_BARCODES.values())
        self.med_codes: set[str] = set()
        self.pairs: set[tuple[str, str]] = set()
        self.counters: dict[str, int] = {}
        self.name_serials: dict[tuple[str, str], str] = {}

    # -- identifiers -------------------------------------------------------
    def next_code(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]:05d}"

    def gtin(self, code: str, salt: str) -> str:
        attempt = 0
        while True:
            h = digest("gtin", code, salt, str(attempt))
            prefix = str(690 + h % 10)
            body = prefix + str(h // 10 % 10**9).zfill(9)
            barcode = body + gtin13_check(body)
            if barcode not in self.barcodes:
                self.barcodes.add(barcode)
                return barcode
            attempt += 1

    def barcodes_for(self, code: str) -> str:
        if code in PINNED_BARCODES:
            return PINNED_BARCODES[code]
        first = self.gtin(code, "a")
        # About one item in twenty also carries the barcode of its old packaging.
        if digest("second-barcode", code) % 17 == 0:
            return first + "|" + self.gtin(code, "b")
        return first

    def unique_med_code(self, make) -> str:
        attempt = 0
        while True:
            med = make(attempt)
            if med not in self.med_codes:
                self.med_codes.add(med)
                return med
            attempt += 1

    def serial_for(self, group: str, generic: str) -> str:
        key = (group, generic)
        if key not in self.name_serials:
            used = {s for (g, _), s in self.name_serials.items() if g == group}
            n = digest("serial", group, generic) % 900 + 1
            while f"{n:03d}" in used:
                n = n % 999 + 1
            self.name_serials[key] = f"{n:03d}"
        return self.name_serials[key]

    def western_code(self, code: str, name: str, atc: str) -> str:
        serial = self.serial_for(atc, generic_name(name))
        form = dosage_form(name)

        def make(attempt: int) -> str:
            return f"X{atc}A{serial}{form}{digits(9, 'x', code, str(attempt))}"

        return self.unique_med_code(make)

    def patent_code(self, code: str, name: str, category: str) -> str:
        serial = "0" + self.serial_for("Z" + category, name)

        def make(attempt: int) -> str:
            return f"Z{category}L{serial}{digits(9, 'z', code, str(attempt))}"

        return self.unique_med_code(make)

    def herb_code(self, code: str) -> str:
        return self.unique_med_code(lambda a: "T" + digits(9, "t", code, str(a)))

    def service_code(self, item9: str) -> str:
        return self.unique_med_code(lambda a: f"00{item9}{a:04d}")

    def supply_code(self, code: str, category: str) -> str:
        return self.unique_med_code(lambda a: f"C{category}" + digits(24, "c", code, str(a)))

    # -- money -------------------------------------------------------------
    def selfpay(self, code: str, list_class: str) -> str:
        if list_class == "甲":
            return "0.00"
        if list_class == "乙":
            return SELFPAY_B[digest("selfpay", code) % len(SELFPAY_B)]
        return "1.00"

    def price_cap(self, code: str, price: str, list_class: str) -> str:
        if list_class == "丙" or code == "Y00001":
            return ""
        h = digest("cap", code)
        if h % 100 >= 14:
            return ""
        value = Decimal(price)
        kind = h // 100 % 4
        if kind == 0:  # below the price: the over-cap part is the patient's
            factor = Decimal("0.80") + Decimal(h // 1000 % 16) / 100
        elif kind == 1:  # exactly the price
            factor = Decimal("1")
        else:  # comfortably above the price
            factor = Decimal("1.10") + Decimal(h // 1000 % 21) / 100
        cap = max((value * factor).quantize(CENT, rounding=ROUND_HALF_UP), CENT)
        return f"{cap:.2f}"

    def stock(self, code: str, physical: bool) -> str:
        if not physical:
            return "0"
        h = digest("stock", code)
        if h % 29 == 0:
            return "0"  # sold out, for testing
        return str(h // 29 % 500 + 1)

    # -- rows --------------------------------------------------------------
    def add(
        self,
        *,
        prefix: str,
        name: str,
        spec: str,
        unit: str,
        price: str,
        list_class: str,
        fee_category: str,
        physical: bool,
        med_code,
    ) -> None:
        if list_class not in LIST_CLASSES:
            raise ValueError(f"bad list class {list_class!r} for {name}")
        if (name, spec) in self.pairs:
            raise ValueError(f"duplicate item {name} {spec}")
        self.pairs.add((name, spec))
        code = self.next_code(prefix)
        price = money(price)
        med = med_code(code) if med_code is not None else ""
        if not med and list_class != "丙":
            raise ValueError(f"{name}: an item without a 医保 code must be 丙")
        self.rows.append(
            {
                "code": code,
                "barcode": self.barcodes_for(code) if physical else "",
                "name": name,
                "spec": spec,
                "unit": unit,
                "price": price,
                "med_list_codg": med,
                "list_class": list_class,
                "selfpay_prop": self.selfpay(code, list_class),
                "price_cap": self.price_cap(code, price, list_class),
                "fee_category": fee_category,
                "stock": self.stock(code, physical),
            }
        )


def build() -> list[dict[str, str]]:
    b = Builder()
    for name, spec, unit, price, cls, atc in parse_table(WESTERN, 6):
        b.add(
            prefix="Y",
            name=name,
            spec=spec,
            unit=unit,
            price=price,
            list_class=cls,
            fee_category="西药费",
            physical=True,
            med_code=lambda code, name=name, atc=atc: b.western_code(code, name, atc),
        )
    for name, spec, unit, price, cls, cat in parse_table(PATENT, 6):
        b.add(
            prefix="Y",
            name=name,
            spec=spec,
            unit=unit,
            price=price,
            list_class=cls,
            fee_category="中成药费",
            physical=True,
            med_code=lambda code, name=name, cat=cat: b.patent_code(code, name, cat),
        )
    for name, spec, unit, price, cls in parse_table(HERBS, 5):
        b.add(
            prefix="Y",
            name=name,
            spec=spec,
            unit=unit,
            price=price,
            list_class=cls,
            fee_category="中药饮片费",
            physical=True,
            med_code=b.herb_code,
        )
    for name, spec, unit, price, cls, fee, item9 in parse_table(SERVICES, 7):
        b.add(
            prefix="S",
            name=name,
            spec=spec,
            unit=unit,
            price=price,
            list_class=cls,
            fee_category=fee,
            physical=False,
            med_code=(lambda code, item9=item9: b.service_code(item9)) if item9 else None,
        )
    for name, spec, unit, price, cls, cat in parse_table(SUPPLIES, 6):
        b.add(
            prefix="C",
            name=name,
            spec=spec,
            unit=unit,
            price=price,
            list_class=cls,
            fee_category="卫生材料费",
            physical=True,
            med_code=lambda code, cat=cat: b.supply_code(code, cat),
        )
    for name, spec, unit, price in parse_table(GOODS, 4):
        b.add(
            prefix="P",
            name=name,
            spec=spec,
            unit=unit,
            price=price,
            list_class="丙",
            fee_category="其他费",
            physical=True,
            med_code=None,
        )

    first = b.rows[0]
    assert (first["code"], first["name"], first["spec"]) == ("Y00001", "阿莫西林胶囊", "0.25g*24粒")
    assert (first["unit"], first["price"], first["list_class"]) == ("盒", "12.50", "甲")
    return b.rows


def write(rows: list[dict[str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else OUTPUT
    rows = build()
    write(rows, path)
    print(f"wrote {len(rows)} items to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
